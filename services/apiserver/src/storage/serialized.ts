/**
 * One serialization per object, however many watchers receive it: objects
 * in the watch cache are never mutated, so their JSON is computed once and
 * remembered beside them.
 */
import type { KubeObject } from '@kemu/api';

const cache = new WeakMap<object, string>();

export function jsonOf(obj: KubeObject): string {
  let s = cache.get(obj);
  if (s === undefined) {
    s = JSON.stringify(obj);
    cache.set(obj, s);
  }
  return s;
}
