/**
 * Parsing YAML that a client sent (server-side apply bodies): aliases are
 * capped, so a "billion laughs" document cannot expand into gigabytes, and
 * the nesting depth of the result is capped as JSON's is, so a deep document
 * cannot exhaust the stack of what walks it next. Any failure is a 400. Pure.
 */
import { badRequest } from '@kemu/api';
import { parse as parseYaml } from 'yaml';
import { MAX_DEPTH, valueDepth } from './json.js';

/** Alias nodes a document may use (the yaml library's guard against exponential expansion). */
export const MAX_ALIASES = 100;

export function parseYamlBody(text: string): unknown {
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: MAX_ALIASES });
  } catch (e) {
    throw badRequest(`error decoding YAML: ${e instanceof RangeError ? `exceeded max depth of ${MAX_DEPTH}` : (e as Error).message}`);
  }
  if (valueDepth(value) > MAX_DEPTH) throw badRequest(`error decoding YAML: exceeded max depth of ${MAX_DEPTH}`);
  return value;
}
