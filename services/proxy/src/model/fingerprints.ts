/**
 * What a partial sync compares: each Service as one string of its model entries. Both kernel modes rewrite the
 * chains of exactly the Services whose strings differ from the last successful sync's.
 */
import type { ServiceEntry } from './types.js';

/**
 * Each Service ("namespace/name") as one string of its ports and endpoints: two models differ where these do.
 * `memo` keeps each entry's string by the entry object (entries are never changed in place), so a model in which
 * only a few entries are new costs only theirs.
 */
export function serviceFingerprints(entries: readonly ServiceEntry[], memo?: WeakMap<ServiceEntry, string>): Map<string, string> {
  const parts = new Map<string, string[]>();
  for (const e of entries) {
    const nn = `${e.service.namespace}/${e.service.name}`;
    let s = memo?.get(e);
    if (s === undefined) {
      s = JSON.stringify(e);
      memo?.set(e, s);
    }
    const list = parts.get(nn);
    if (list) list.push(s);
    else parts.set(nn, [s]);
  }
  // The same string as JSON.stringify of the Service's entries as one array.
  return new Map([...parts].map(([nn, ss]) => [nn, `[${ss.join(',')}]`]));
}

/** The Services whose fingerprints differ between two models (added and removed ones too). */
export function changedFingerprints(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): Set<string> {
  const changed = new Set<string>();
  for (const [nn, s] of a) if (b.get(nn) !== s) changed.add(nn);
  for (const nn of b.keys()) if (!a.has(nn)) changed.add(nn);
  return changed;
}
