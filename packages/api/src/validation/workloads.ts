/** Deployment, ReplicaSet, ReplicationController and DaemonSet validation. */
import { type FieldError, required, invalid, notSupported } from '../field-errors.js';
import { isPlainObject, jsonEqual } from '../types.js';
import { jsonText } from '../json.js';
import { fromLabelSelector, matches, type LabelSelector } from '../labels.js';
import { validateLabels } from './meta.js';
import { validatePodSpec } from './pod.js';

function nonNegative(v: unknown, f: string): FieldError[] {
  if (v === undefined) return [];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return [invalid(f, v, 'must be greater than or equal to 0')];
  return [];
}

/**
 * A metav1.LabelSelector's fields. A workload's must select something (`emptyInvalid`); a NetworkPolicy's empty
 * selector means every pod.
 */
export function validateLabelSelector(sel: unknown, f: string, emptyInvalid = true): FieldError[] {
  if (!isPlainObject(sel)) return [required(f)];
  const out: FieldError[] = [];
  out.push(...validateLabels(sel.matchLabels, `${f}.matchLabels`));
  const exprs = sel.matchExpressions;
  if (exprs !== undefined) {
    if (!Array.isArray(exprs)) out.push(invalid(`${f}.matchExpressions`, exprs, 'must be a list'));
    else
      exprs.forEach((e: unknown, i: number) => {
        const ef = `${f}.matchExpressions[${i}]`;
        if (!isPlainObject(e)) return out.push(invalid(ef, e, 'must be an object'));
        const op = String(e.operator);
        if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(op))
          out.push(notSupported(`${ef}.operator`, e.operator, ['In', 'NotIn', 'Exists', 'DoesNotExist']));
        const vals = Array.isArray(e.values) ? e.values : [];
        if ((op === 'In' || op === 'NotIn') && vals.length === 0) out.push(required(`${ef}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        if ((op === 'Exists' || op === 'DoesNotExist') && vals.length > 0)
          out.push(invalid(`${ef}.values`, vals, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      });
  }
  if (emptyInvalid && !sel.matchLabels && (!Array.isArray(sel.matchExpressions) || sel.matchExpressions.length === 0)) {
    out.push(invalid(f, sel, 'empty selector is invalid for deployment'));
  }
  return out;
}

function validateTemplate(spec: Record<string, unknown>, selector: LabelSelector | undefined, restartAlways: boolean): FieldError[] {
  const out: FieldError[] = [];
  const tpl = spec.template;
  if (!isPlainObject(tpl)) return [required('spec.template')];
  const meta = isPlainObject(tpl.metadata) ? tpl.metadata : {};
  out.push(...validateLabels(meta.labels, 'spec.template.metadata.labels'));
  if (selector && isPlainObject(selector)) {
    if (!matches(fromLabelSelector(selector), meta.labels as Record<string, string> | undefined)) {
      out.push(invalid('spec.template.metadata.labels', meta.labels ?? {}, '`selector` does not match template `labels`'));
    }
  }
  out.push(...validatePodSpec(tpl.spec, 'spec.template.spec'));
  const rp = isPlainObject(tpl.spec) ? tpl.spec.restartPolicy : undefined;
  if (restartAlways && rp !== undefined && rp !== 'Always') out.push(notSupported('spec.template.spec.restartPolicy', rp, ['Always']));
  return out;
}

/** A struct field sent as something else (Kubernetes refuses it when decoding; defaulting leaves it alone). */
function objectOrAbsent(v: unknown, f: string): FieldError[] {
  return v === undefined || v === null || isPlainObject(v) ? [] : [invalid(f, v, 'must be an object')];
}

function validateIntOrPercent(v: unknown, f: string): FieldError[] {
  if (v === undefined) return [];
  if (typeof v === 'number') return nonNegative(v, f);
  if (typeof v === 'string' && /^\d+%$/.test(v)) return Number(v.slice(0, -1)) > 100 ? [invalid(f, v, 'must not be greater than 100%')] : [];
  return [
    invalid(f, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"),
  ];
}

const isZero = (v: unknown) => v === 0 || v === '0%';

export function validateDeploymentSpec(spec: unknown): FieldError[] {
  if (!isPlainObject(spec)) return [required('spec')];
  const out: FieldError[] = [...nonNegative(spec.replicas, 'spec.replicas')];
  out.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  out.push(...validateTemplate(spec, spec.selector as LabelSelector, true));
  const st = spec.strategy;
  out.push(...objectOrAbsent(st, 'spec.strategy'));
  if (isPlainObject(st)) {
    const type = st.type ?? 'RollingUpdate';
    if (!['RollingUpdate', 'Recreate'].includes(jsonText(type))) out.push(notSupported('spec.strategy.type', type, ['Recreate', 'RollingUpdate']));
    if (type === 'Recreate' && st.rollingUpdate)
      out.push(invalid('spec.strategy.rollingUpdate', st.rollingUpdate, "may not be specified when strategy `type` is 'Recreate'"));
    const ru = st.rollingUpdate;
    out.push(...objectOrAbsent(ru, 'spec.strategy.rollingUpdate'));
    if (isPlainObject(ru)) {
      out.push(...validateIntOrPercent(ru.maxSurge, 'spec.strategy.rollingUpdate.maxSurge'));
      out.push(...validateIntOrPercent(ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
      if (isZero(ru.maxSurge) && isZero(ru.maxUnavailable))
        out.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
    }
  }
  out.push(...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  out.push(...nonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (
    spec.progressDeadlineSeconds !== undefined &&
    typeof spec.minReadySeconds === 'number' &&
    typeof spec.progressDeadlineSeconds === 'number' &&
    spec.progressDeadlineSeconds <= spec.minReadySeconds
  ) {
    out.push(invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  return out;
}

export function validateReplicaSetSpec(spec: unknown): FieldError[] {
  if (!isPlainObject(spec)) return [required('spec')];
  const out: FieldError[] = [...nonNegative(spec.replicas, 'spec.replicas')];
  out.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  out.push(...validateTemplate(spec, spec.selector as LabelSelector, true));
  out.push(...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  return out;
}

/** ReplicationController selectors are plain maps (defaulted from the template labels). */
export function validateReplicationControllerSpec(spec: unknown): FieldError[] {
  if (!isPlainObject(spec)) return [required('spec')];
  const out: FieldError[] = [...nonNegative(spec.replicas, 'spec.replicas')];
  if (!isPlainObject(spec.selector) || Object.keys(spec.selector).length === 0) out.push(required('spec.selector'));
  else out.push(...validateLabels(spec.selector, 'spec.selector'));
  const sel = isPlainObject(spec.selector) ? { matchLabels: spec.selector as Record<string, string> } : undefined;
  out.push(...validateTemplate(spec, sel, true));
  return out;
}

export function validateDaemonSetSpec(spec: unknown): FieldError[] {
  if (!isPlainObject(spec)) return [required('spec')];
  const out: FieldError[] = [];
  out.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  out.push(...validateTemplate(spec, spec.selector as LabelSelector, true));
  const st = spec.updateStrategy;
  out.push(...objectOrAbsent(st, 'spec.updateStrategy'));
  if (isPlainObject(st)) out.push(...objectOrAbsent(st.rollingUpdate, 'spec.updateStrategy.rollingUpdate'));
  return out;
}

/** apps/v1 selectors are immutable. */
export function validateSelectorUpdate(next: Record<string, unknown>, old: Record<string, unknown>): FieldError[] {
  const ns = isPlainObject(next.spec) ? next.spec.selector : undefined;
  const os = isPlainObject(old.spec) ? old.spec.selector : undefined;
  if (!jsonEqual(ns, os)) return [invalid('spec.selector', ns, 'field is immutable')];
  return [];
}
