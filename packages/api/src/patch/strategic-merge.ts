/**
 * Strategic merge patch, as the api-server applies it for built-in kinds:
 * lists with a merge key are merged item by item, other lists replaced; the
 * directives `$patch` (replace/delete/merge), `$setElementOrder/<list>`,
 * `$retainKeys` and `$deleteFromPrimitiveList/<list>` are honoured; null
 * deletes a key.
 */
import { StatusError } from '../errors.js';
import { isPlainObject } from '../types.js';

/** How a list field merges: by a key, as a set of primitives, or replaced. */
export type ListStrategy = { mergeKey: string } | { primitiveMerge: true } | undefined;

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/**
 * Kubernetes' patchMergeKey / patchStrategy tags, keyed by the list's field
 * name and (where one name means two things) by its parent path.
 */
export function listStrategy(path: readonly string[], field: string): ListStrategy {
  const parent = path[path.length - 1];
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
    case 'resourceClaims':
    case 'schedulingGates':
      return { mergeKey: 'name' };
    case 'secrets':
      return path.length === 0 ? { mergeKey: 'name' } : undefined; // ServiceAccount.secrets
    case 'volumeMounts':
      return { mergeKey: 'mountPath' };
    case 'volumeDevices':
      return { mergeKey: 'devicePath' };
    case 'ports':
      if (path.some((p) => CONTAINER_LISTS.has(p))) return { mergeKey: 'containerPort' };
      if (parent === 'spec' && path.length === 1) return { mergeKey: 'port' }; // Service
      return undefined;
    case 'conditions':
      return { mergeKey: 'type' };
    case 'addresses':
      return parent === 'status' && path.length === 1 ? { mergeKey: 'type' } : undefined; // Node
    case 'hostAliases':
      return { mergeKey: 'ip' };
    case 'topologySpreadConstraints':
      return { mergeKey: 'topologyKey' };
    case 'ownerReferences':
      return { mergeKey: 'uid' };
    case 'finalizers':
      return { primitiveMerge: true };
    default:
      return undefined;
  }
}

function bad(msg: string): never {
  throw new StatusError(400, 'BadRequest', msg);
}

function mergeMap(orig: Record<string, unknown>, patch: Record<string, unknown>, path: string[]): Record<string, unknown> {
  if (patch.$patch === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return {};
  const out: Record<string, unknown> = structuredClone(orig);
  let retain: string[] | undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch') continue;
    if (k === '$retainKeys') {
      if (!Array.isArray(v)) bad('$retainKeys must be a list');
      retain = v as string[];
      continue;
    }
    if (k.startsWith('$setElementOrder/') || k.startsWith('$deleteFromPrimitiveList/')) continue;
    if (v === null) {
      delete out[k];
      continue;
    }
    const cur = out[k];
    if (Array.isArray(v)) {
      out[k] = mergeList(Array.isArray(cur) ? cur : [], v, path, k, patch);
    } else if (isPlainObject(v)) {
      out[k] = isPlainObject(cur) ? mergeMap(cur, v, [...path, k]) : mergeMap({}, v, [...path, k]);
    } else out[k] = v;
  }
  // Directives that act on a list the patch does not otherwise mention.
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.includes(x));
    } else if (k.startsWith('$setElementOrder/')) {
      const field = k.slice('$setElementOrder/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = reorder(cur, v, listStrategy(path, field));
    }
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function keyOf(item: unknown, mergeKey: string): unknown {
  return isPlainObject(item) ? item[mergeKey] : item;
}

/** Order `list` as `order` says; items it does not name keep their place after. */
function reorder(list: unknown[], order: unknown[], strategy: ListStrategy): unknown[] {
  const mk = strategy && 'mergeKey' in strategy ? strategy.mergeKey : undefined;
  const keyOfItem = (x: unknown) => (mk ? keyOf(x, mk) : x);
  const orderKeys = order.map((o) => (mk ? keyOf(o, mk) : o));
  const named = list.filter((x) => orderKeys.some((k) => k === keyOfItem(x)));
  const rest = list.filter((x) => !orderKeys.some((k) => k === keyOfItem(x)));
  named.sort((a, b) => orderKeys.indexOf(keyOfItem(a)) - orderKeys.indexOf(keyOfItem(b)));
  return [...named, ...rest];
}

function mergeList(orig: unknown[], patch: unknown[], path: string[], field: string, parentPatch: Record<string, unknown>): unknown[] {
  const strategy = listStrategy(path, field);
  // `[{"$patch": "replace"}, ...items]` replaces the list whatever its strategy.
  if (patch.some((x) => isPlainObject(x) && x.$patch === 'replace')) {
    return patch.filter((x) => !(isPlainObject(x) && x.$patch === 'replace')).map((x) => (isPlainObject(x) ? stripDirectives(x) : x));
  }
  if (!strategy) return patch.map((x) => (isPlainObject(x) ? stripDirectives(x) : x));
  if ('primitiveMerge' in strategy) {
    const out = [...orig];
    for (const x of patch) if (!out.includes(x)) out.push(x);
    return out;
  }
  const mk = strategy.mergeKey;
  let out = orig.map((x) => structuredClone(x));
  for (const item of patch) {
    if (!isPlainObject(item)) bad(`${field}: expected a map with merge key "${mk}"`);
    const key = item[mk];
    const idx = out.findIndex((x) => keyOf(x, mk) === key && key !== undefined);
    if (item.$patch === 'delete') {
      if (idx >= 0) out = out.filter((_, i) => i !== idx);
      continue;
    }
    if (idx >= 0) out[idx] = mergeMap(out[idx] as Record<string, unknown>, item, [...path, field]);
    else out.push(mergeMap({}, item, [...path, field]));
  }
  const order = parentPatch[`$setElementOrder/${field}`];
  if (Array.isArray(order)) out = reorder(out, order, strategy);
  return out;
}

function stripDirectives(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    out[k] = isPlainObject(x) ? stripDirectives(x) : x;
  }
  return out;
}

/** Apply a strategic merge patch to an object. Pure. */
export function applyStrategicMergePatch(orig: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) bad('strategic merge patch must be a JSON object');
  return mergeMap(isPlainObject(orig) ? orig : {}, patch, []);
}
