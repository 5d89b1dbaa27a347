/**
 * ResourceQuota and LimitRange admission, pure parts: what an object
 * charges against a quota, whether a namespace's quotas admit it (with
 * Kubernetes' messages), and how a LimitRange defaults and bounds a pod's
 * containers.
 */
import { formatMilli, milliValue } from './quantity.js';
import type { LimitRange, LimitRangeItem, Pod, ResourceQuota, Service } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from './types.js';
import { asObject, at, jsonText, objectField, objectsOf, type JsonObject } from './json.js';

/** Quota resource name → amount in milli-units (a pod counts 1000n), exact. */
export type Usage = Record<string, bigint>;

const ONE = 1000n;

/** The quota resource names an object of `storage` charges, and how much. */
export function charge(storage: string, group: string, obj: KubeObject): Usage {
  const u: Usage = { [`count/${group ? `${storage}.${group}` : storage}`]: ONE };
  switch (storage) {
    case 'pods': {
      // What is charged is stored or has passed validation: a Pod.
      const pod = obj as Pod;
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp) return {};
      u.pods = ONE;
      for (const c of pod.spec?.containers ?? []) {
        for (const [kind, prefix] of [
          ['requests', 'requests.'],
          ['limits', 'limits.'],
        ] as const) {
          for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
            const q = milliValue(c.resources?.[kind]?.[r]);
            if (q !== undefined) u[`${prefix}${r}`] = (u[`${prefix}${r}`] ?? 0n) + q;
          }
        }
      }
      // Plain `cpu` / `memory` in a quota mean requests.
      if (u['requests.cpu'] !== undefined) u.cpu = u['requests.cpu'];
      if (u['requests.memory'] !== undefined) u.memory = u['requests.memory'];
      return u;
    }
    case 'services': {
      u.services = ONE;
      const spec = (obj as Service).spec; // stored or validated, as above
      const type = spec?.type;
      if (type === 'NodePort' || type === 'LoadBalancer') u['services.nodeports'] = BigInt((spec?.ports ?? []).length) * ONE;
      if (type === 'LoadBalancer') u['services.loadbalancers'] = ONE;
      return u;
    }
    case 'replicationcontrollers':
    case 'secrets':
    case 'configmaps':
    case 'resourcequotas':
    case 'persistentvolumeclaims':
      u[storage] = ONE;
      return u;
    default:
      return u;
  }
}

export function addUsage(a: Usage, b: Usage, sign: 1 | -1 = 1): Usage {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0n) + BigInt(sign) * v;
  return out;
}

const isBytes = (r: string) => r.endsWith('memory') || r.endsWith('storage');

/**
 * A milli-value as quotas print it: bytes in binary units when they divide
 * evenly (64Mi), else in decimal ones (100M); everything else in decimal
 * (250m, 2, 1k). A number is taken as an integer count of milli-units.
 */
export function show(resource: string, milli: bigint | number): string {
  const m = BigInt(milli);
  if (isBytes(resource) && m % (1024n * ONE) === 0n) return formatMilli(m, 'BinarySI');
  return formatMilli(m, 'DecimalSI');
}

/**
 * Why the quota refuses `requested` on top of `used`, in Kubernetes' words,
 * or undefined when it fits. Only resources the quota limits and the object
 * charges count.
 */
export function quotaRefusal(quota: KubeObject, requested: Usage, used: Usage): string | undefined {
  // Quotas come from storage, validated when written.
  const hard = (quota as ResourceQuota).spec?.hard ?? {};
  const keys = Object.keys(hard)
    .filter((k) => requested[k] !== undefined && requested[k] > 0n)
    .sort();
  // A compute quota needs the pod to say what it asks for.
  if (requested.pods) {
    const missing = Object.keys(hard)
      .filter((k) => /^(requests|limits)\.(cpu|memory)$|^(cpu|memory)$/.test(k) && requested[k] === undefined)
      .sort();
    if (missing.length) return `failed quota: ${quota.metadata.name}: must specify ${missing.join(',')}`;
  }
  const over = keys.filter((k) => (used[k] ?? 0n) + requested[k] > (milliValue(hard[k]) ?? 0n));
  if (!over.length) return undefined;
  const list = (f: (k: string) => string) => over.map((k) => `${k}=${f(k)}`).join(',');
  return `exceeded quota: ${quota.metadata.name}, requested: ${list((k) => show(k, requested[k]))}, used: ${list((k) => show(k, used[k] ?? 0n))}, limited: ${list((k) => hard[k])}`;
}

/**
 * LimitRange admission for a pod: fill default limits and requests, then
 * check min, max and maxLimitRequestRatio. Returns the problems (empty when
 * admitted); mutates `pod` (a fresh object being created).
 */
export function applyLimitRanges(pod: KubeObject, ranges: KubeObject[]): string[] {
  const problems: string[] = [];
  // The pod is not validated yet (admission runs first): its containers are read as unchecked JSON.
  const containers = objectsOf(at(pod, 'spec', 'containers'));
  const initContainers = objectsOf(at(pod, 'spec', 'initContainers'));
  for (const lr of ranges as LimitRange[]) {
    // from storage, validated when written
    for (const item of lr.spec?.limits ?? []) {
      if (item.type === 'Container') {
        for (const c of [...containers, ...initContainers]) {
          const res = objectField(c, 'resources');
          if (!res) continue;
          fill(res, 'limits', item.default);
          fill(res, 'requests', item.defaultRequest);
          // As the defaulting of a pod does: requests default to limits.
          const limits = asObject(res.limits);
          if (limits) fill(res, 'requests', limits);
          problems.push(...bounds(item, 'Container', asObject(res.requests) ?? {}, asObject(res.limits) ?? {}));
        }
      } else if (item.type === 'Pod') {
        const req: Usage = {};
        const lim: Usage = {};
        for (const c of containers) {
          for (const [r, q] of Object.entries(asObject(at(c, 'resources', 'requests')) ?? {})) req[r] = (req[r] ?? 0n) + (milliValue(q) ?? 0n);
          for (const [r, q] of Object.entries(asObject(at(c, 'resources', 'limits')) ?? {})) lim[r] = (lim[r] ?? 0n) + (milliValue(q) ?? 0n);
        }
        const text = (u: Usage) => Object.fromEntries(Object.entries(u).map(([r, m]) => [r, show(r, m)]));
        problems.push(...bounds(item, 'Pod', text(req), text(lim)));
      }
    }
  }
  return problems;
}

/** Give the resource list `res[key]` each of `defaults` it does not set (creating the list when there are any). */
function fill(res: JsonObject, key: 'limits' | 'requests', defaults: Record<string, unknown> | undefined): void {
  const entries = Object.entries(defaults ?? {});
  if (!entries.length) return;
  const list = objectField(res, key);
  if (list) for (const [r, q] of entries) list[r] ??= q;
}

function bounds(item: LimitRangeItem, what: string, requests: JsonObject, limits: JsonObject): string[] {
  const out: string[] = [];
  for (const [r, min] of Object.entries(item.min ?? {})) {
    const req = milliValue(requests[r]);
    if (req === undefined) out.push(`minimum ${r} usage per ${what} is ${min}.  No request is specified`);
    else if (req < (milliValue(min) ?? 0n)) out.push(`minimum ${r} usage per ${what} is ${min}, but request is ${jsonText(requests[r])}`);
  }
  for (const [r, max] of Object.entries(item.max ?? {})) {
    const lim = milliValue(limits[r]);
    const cap = milliValue(max);
    if (lim === undefined) out.push(`maximum ${r} usage per ${what} is ${max}.  No limit is specified`);
    else if (cap !== undefined && lim > cap) out.push(`maximum ${r} usage per ${what} is ${max}, but limit is ${jsonText(limits[r])}`);
  }
  for (const [r, ratio] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const lim = milliValue(limits[r]);
    const req = milliValue(requests[r]);
    const most = milliValue(ratio);
    // lim / req > ratio, compared without dividing: lim * 1000 > ratio(milli) * req.
    if (lim !== undefined && req && most !== undefined && lim * 1000n > most * req) {
      out.push(`${r} max limit to request ratio per ${what} is ${ratio}, but provided ratio is ${(Number(lim) / Number(req)).toFixed(6)}`);
    }
  }
  return out;
}
