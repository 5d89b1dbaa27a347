/**
 * Parsing JSON that a client sent (REST bodies, patches, gRPC payloads):
 * the nesting depth is checked before JSON.parse, so a hostile document can
 * not exhaust the stack, and any failure is a 400. Shared by the HTTP and
 * gRPC fronts and the registry, below all of them. Pure.
 */
import { badRequest } from '@kemu/api';

export const MAX_DEPTH = 1000;

/** The deepest nesting of arrays/objects in a JSON text, stopping early past `max`. */
export function jsonDepth(text: string, max = MAX_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return deepest;
}

/** The deepest nesting of arrays/objects in a parsed value, walked without recursion, stopping early past `max`. */
export function valueDepth(value: unknown, max = MAX_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (!v || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v); // aliases make a YAML document a graph: each node once
    const depth = d + 1;
    if (depth > deepest) {
      deepest = depth;
      if (deepest > max) return deepest;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) stack.push([child, depth]);
  }
  return deepest;
}

/** Parse a JSON document from a client, answering 400 for anything that is not sound JSON. */
export function parseJsonBody(text: string): unknown {
  if (!text.trim()) throw badRequest("Object 'Kind' is missing in ''");
  if (jsonDepth(text) > MAX_DEPTH) throw badRequest(`json: exceeded max depth of ${MAX_DEPTH}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`error decoding request body: ${(e as Error).message}`);
  }
}
