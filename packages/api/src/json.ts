/**
 * Small accessors for JSON whose shape is not checked yet (request bodies,
 * patches, stored objects of any kind). They keep such values `unknown` and
 * narrow one step at a time, so reading a field of something that turns out
 * to be a string or a list is a miss rather than a crash or a silent `any`.
 */
import { isPlainObject } from './types.js';

/** A JSON object whose fields are not checked yet. */
export type JsonObject = Record<string, unknown>;

/** `v` when it is a JSON object, else undefined. */
export function asObject(v: unknown): JsonObject | undefined {
  return isPlainObject(v) ? v : undefined;
}

/** The elements of `v` when it is a list, else none. (`Array.isArray` alone would type them `any`.) */
export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? (v as unknown[]) : [];
}

/** The elements of list `v` that are objects; anything else in it is skipped. */
export function objectsOf(v: unknown): JsonObject[] {
  return asArray(v).filter(isPlainObject);
}

/** `v` when it is a string, else undefined. */
export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The value at `path` below `v`, or undefined as soon as a step is not an object. */
export function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/**
 * `o[key]` as an object, set to `{}` first when it is absent or null (as
 * Kubernetes' defaulting allocates a nil struct); undefined when it holds
 * something that is not an object, which validation reports later.
 */
export function objectField(o: JsonObject, key: string): JsonObject | undefined {
  if (o[key] === undefined || o[key] === null) o[key] = {};
  return asObject(o[key]);
}

/**
 * A JSON value as text where a string is expected: strings as they are,
 * numbers and booleans as JSON writes them, objects and lists as JSON (not
 * `[object Object]`), null as `null`, a missing value as `undefined`.
 */
export function jsonText(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'undefined':
      return 'undefined';
    case 'object':
      return v === null ? 'null' : JSON.stringify(v);
    default:
      // Functions and symbols never come out of JSON.
      return typeof v;
  }
}
