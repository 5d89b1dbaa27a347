/**
 * ResourceQuota and LimitRange admission, pure parts: what an object
 * charges against a quota, whether a namespace's quotas admit it (with
 * Kubernetes' messages), and how a LimitRange defaults and bounds a pod's
 * containers.
 */
import { formatQuantity, parseQuantity } from './quantity.js';
import type { KubeObject } from './types.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Usage = Record<string, number>;

/** The quota resource names an object of `storage` charges, and how much. */
export function charge(storage: string, group: string, obj: KubeObject): Usage {
  const u: Usage = { [`count/${group ? `${storage}.${group}` : storage}`]: 1 };
  switch (storage) {
    case 'pods': {
      const phase = obj.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed' || obj.metadata.deletionTimestamp) return {};
      u.pods = 1;
      for (const c of obj.spec?.containers ?? []) {
        for (const [kind, prefix] of [['requests', 'requests.'], ['limits', 'limits.']] as const) {
          for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
            const q = parseQuantity(c.resources?.[kind]?.[r]);
            if (q !== undefined) u[`${prefix}${r}`] = (u[`${prefix}${r}`] ?? 0) + q;
          }
        }
      }
      // Plain `cpu` / `memory` in a quota mean requests.
      if (u['requests.cpu'] !== undefined) u.cpu = u['requests.cpu'];
      if (u['requests.memory'] !== undefined) u.memory = u['requests.memory'];
      return u;
    }
    case 'services': {
      u.services = 1;
      const type = obj.spec?.type;
      if (type === 'NodePort' || type === 'LoadBalancer') u['services.nodeports'] = (obj.spec?.ports ?? []).length;
      if (type === 'LoadBalancer') u['services.loadbalancers'] = 1;
      return u;
    }
    case 'replicationcontrollers':
    case 'secrets':
    case 'configmaps':
    case 'resourcequotas':
    case 'persistentvolumeclaims':
      u[storage] = 1;
      return u;
    default:
      return u;
  }
}

export function addUsage(a: Usage, b: Usage, sign = 1): Usage {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + sign * v;
  return out;
}

const kind = (r: string) => (r.endsWith('cpu') ? 'cpu' : r.endsWith('memory') || r.endsWith('storage') ? 'memory' : 'count');

/** A quantity as quotas print it. */
export function show(resource: string, v: number): string {
  return formatQuantity(Math.round(v * 1000) / 1000, kind(resource));
}

/**
 * Why the quota refuses `requested` on top of `used`, in Kubernetes' words,
 * or undefined when it fits. Only resources the quota limits and the object
 * charges count.
 */
export function quotaRefusal(quota: KubeObject, requested: Usage, used: Usage): string | undefined {
  const hard: Obj = quota.spec?.hard ?? {};
  const keys = Object.keys(hard).filter((k) => requested[k] !== undefined && requested[k] > 0).sort();
  // A compute quota needs the pod to say what it asks for.
  if (requested.pods) {
    const missing = Object.keys(hard).filter((k) => /^(requests|limits)\.(cpu|memory)$|^(cpu|memory)$/.test(k) && requested[k] === undefined).sort();
    if (missing.length) return `failed quota: ${quota.metadata.name}: must specify ${missing.join(',')}`;
  }
  const over = keys.filter((k) => (used[k] ?? 0) + requested[k] > (parseQuantity(hard[k]) ?? 0) + 1e-9);
  if (!over.length) return undefined;
  const list = (f: (k: string) => string) => over.map((k) => `${k}=${f(k)}`).join(',');
  return `exceeded quota: ${quota.metadata.name}, requested: ${list((k) => show(k, requested[k]))}, used: ${list((k) => show(k, used[k] ?? 0))}, limited: ${list((k) => String(hard[k]))}`;
}

/**
 * LimitRange admission for a pod: fill default limits and requests, then
 * check min, max and maxLimitRequestRatio. Returns the problems (empty when
 * admitted); mutates `pod` (a fresh object being created).
 */
export function applyLimitRanges(pod: KubeObject, ranges: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const lr of ranges) {
    for (const item of (lr.spec?.limits ?? []) as Obj[]) {
      if (item.type === 'Container') {
        for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])] as Obj[]) {
          c.resources ??= {};
          for (const [r, q] of Object.entries(item.default ?? {})) {
            c.resources.limits ??= {};
            c.resources.limits[r] ??= q;
          }
          for (const [r, q] of Object.entries(item.defaultRequest ?? {})) {
            c.resources.requests ??= {};
            c.resources.requests[r] ??= q;
          }
          // As the defaulting of a pod does: requests default to limits.
          for (const [r, q] of Object.entries(c.resources.limits ?? {})) {
            c.resources.requests ??= {};
            c.resources.requests[r] ??= q;
          }
          problems.push(...bounds(item, 'Container', c.resources.requests ?? {}, c.resources.limits ?? {}));
        }
      } else if (item.type === 'Pod') {
        const req: Obj = {};
        const lim: Obj = {};
        for (const c of (pod.spec?.containers ?? []) as Obj[]) {
          for (const [r, q] of Object.entries(c.resources?.requests ?? {})) req[r] = String((parseQuantity(req[r]) ?? 0) + (parseQuantity(q) ?? 0));
          for (const [r, q] of Object.entries(c.resources?.limits ?? {})) lim[r] = String((parseQuantity(lim[r]) ?? 0) + (parseQuantity(q) ?? 0));
        }
        problems.push(...bounds(item, 'Pod', req, lim));
      }
    }
  }
  return problems;
}

function bounds(item: Obj, what: string, requests: Obj, limits: Obj): string[] {
  const out: string[] = [];
  for (const [r, min] of Object.entries(item.min ?? {})) {
    const req = parseQuantity(requests[r]);
    if (req === undefined) out.push(`minimum ${r} usage per ${what} is ${min}.  No request is specified`);
    else if (req < (parseQuantity(min) ?? 0)) out.push(`minimum ${r} usage per ${what} is ${min}, but request is ${requests[r]}`);
  }
  for (const [r, max] of Object.entries(item.max ?? {})) {
    const lim = parseQuantity(limits[r]);
    if (lim === undefined) out.push(`maximum ${r} usage per ${what} is ${max}.  No limit is specified`);
    else if (lim > (parseQuantity(max) ?? Infinity)) out.push(`maximum ${r} usage per ${what} is ${max}, but limit is ${limits[r]}`);
  }
  for (const [r, ratio] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const lim = parseQuantity(limits[r]);
    const req = parseQuantity(requests[r]);
    if (lim !== undefined && req) {
      const actual = lim / req;
      if (actual > (parseQuantity(ratio) ?? Infinity)) out.push(`${r} max limit to request ratio per ${what} is ${ratio}, but provided ratio is ${actual.toFixed(6)}`);
    }
  }
  return out;
}
