/**
 * Pod Security admission, as Kubernetes' built-in PodSecurity plugin with
 * its default configuration: a namespace's labels
 * `pod-security.kubernetes.io/{enforce,warn,audit}` (privileged, baseline or
 * restricted, at version `latest`) decide which pods it takes. `enforce`
 * refuses a violating pod; `warn` lets it in with a warning kubectl prints;
 * workload resources (their pod templates) are only warned about; `audit`
 * lets it in and notes the violation on the request's audit event. A
 * namespace without labels is privileged. The checks and their wording are
 * those of the Pod Security Standards at 1.32 (pod-security-checks.ts). Pure.
 */
import type { PodSpec } from 'kubernetes-types/core/v1.js';
import { CHECKS } from './pod-security-checks.js';

export type Level = 'privileged' | 'baseline' | 'restricted';
export const LEVELS: Level[] = ['privileged', 'baseline', 'restricted'];
const PREFIX = 'pod-security.kubernetes.io/';

export interface NamespacePolicy {
  enforce: Level;
  warn: Level;
  audit: Level;
}

/** The policy of a namespace's labels (an unknown level counts as restricted, as Kubernetes' fail-closed parsing). */
export function namespacePolicy(labels: Record<string, string> | undefined): NamespacePolicy {
  const level = (mode: string): Level => {
    const v = labels?.[`${PREFIX}${mode}`];
    if (v === undefined) return 'privileged';
    return (LEVELS as string[]).includes(v) ? (v as Level) : 'restricted';
  };
  return { enforce: level('enforce'), warn: level('warn'), audit: level('audit') };
}

/** Label values that are not levels, for the namespace's validation. */
export function invalidPolicyLabels(labels: Record<string, string> | undefined): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!k.startsWith(PREFIX)) continue;
    const mode = k.slice(PREFIX.length);
    if (['enforce', 'warn', 'audit'].includes(mode) && !(LEVELS as string[]).includes(v)) out.push(k);
    if (['enforce-version', 'warn-version', 'audit-version'].includes(mode) && v !== 'latest' && !/^v1\.\d+$/.test(v)) out.push(k);
  }
  return out;
}

/** The checks of a level a pod fails, in the order Kubernetes lists them. */
function failed(level: Level, spec: PodSpec | undefined, annotations: Record<string, string>): { reason: string; detail: string }[] {
  if (level === 'privileged' || !spec) return [];
  return CHECKS[level].map((c) => c.run({ annotations, spec })).filter((r): r is { reason: string; detail: string } => !!r);
}

/**
 * What a pod breaks of a level, as `reason (detail)` in the order Kubernetes
 * lists it (empty: it meets the level). The annotations are the pod's (or
 * the template's), for the AppArmor check.
 */
export function violations(level: Level, spec: PodSpec | undefined, annotations: Record<string, string> = {}): string[] {
  return failed(level, spec, annotations).map((r) => `${r.reason} (${r.detail})`);
}

/** Only the reasons, as the warnings about a namespace's existing pods give them. */
export function violationReasons(level: Level, spec: PodSpec | undefined, annotations: Record<string, string> = {}): string[] {
  return failed(level, spec, annotations).map((r) => r.reason);
}

/** The text of a refusal or warning: `violates PodSecurity "restricted:latest": a, b`. */
export const policyText = (level: Level, vs: string[]) => `PodSecurity "${level}:latest": ${vs.join(', ')}`;

/**
 * The audit annotations the PodSecurity plugin adds to a request's audit
 * event: Kubernetes' api.AuditAnnotationPrefix (the label prefix) before
 * EnforcedPolicyAnnotationKey and AuditViolationsAnnotationKey.
 */
export const ENFORCE_POLICY_ANNOTATION = `${PREFIX}enforce-policy`;
export const AUDIT_VIOLATIONS_ANNOTATION = `${PREFIX}audit-violations`;

/** What admission does with one pod(-like) spec. */
export interface PodEvaluation {
  /** The refusal's text (`violates PodSecurity ...`), when the enforce level forbids the pod. */
  refusal?: string;
  /** Warnings for the client; none when the request is refused. */
  warnings: string[];
  /** For the request's audit event, refused or not. */
  auditAnnotations: Record<string, string>;
}

/**
 * Kubernetes' Admission.EvaluatePod: a pod (`enforce`) or a workload's pod
 * template (not enforced) against its namespace's three levels. A pod in a
 * fully privileged namespace still says which policy held it, as
 * sharedAllowedPrivilegedResponse does.
 */
export function evaluatePod(policy: NamespacePolicy, spec: PodSpec | undefined, enforce: boolean, annotations: Record<string, string> = {}): PodEvaluation {
  const auditAnnotations: Record<string, string> = {};
  if (enforce) auditAnnotations[ENFORCE_POLICY_ANNOTATION] = `${policy.enforce}:latest`;
  const enforced = enforce ? violations(policy.enforce, spec, annotations) : [];
  const refusal = enforced.length ? `violates ${policyText(policy.enforce, enforced)}` : undefined;
  const audited = violations(policy.audit, spec, annotations);
  if (audited.length) auditAnnotations[AUDIT_VIOLATIONS_ANNOTATION] = `would violate ${policyText(policy.audit, audited)}`;
  // A request about to be refused gets no warnings besides its error.
  const warned = refusal ? [] : violations(policy.warn, spec, annotations);
  return { ...(refusal ? { refusal } : {}), warnings: warned.length ? [`would violate ${policyText(policy.warn, warned)}`] : [], auditAnnotations };
}
