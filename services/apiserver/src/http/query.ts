/**
 * Boolean query parameters (watch, allowWatchBookmarks, sendInitialEvents,
 * follow, previous, timestamps, stdin, stdout, stderr, tty, force, …), read
 * with Kubernetes' one rule for them (Convert_Slice_string_To_bool): absent
 * is false; `0` or `false` in any case is false; anything else is true —
 * `True` (the Python client), `1`, `yes`, and even an empty value
 * (`?watch`). Every boolean the API takes is read here. Pure.
 */

/** One boolean parameter's value, from what `URLSearchParams.get` returns. */
export function parseQueryBool(value: string | null): boolean {
  if (value === null) return false;
  return value !== '0' && value.toLowerCase() !== 'false';
}

export function queryBool(q: URLSearchParams, name: string): boolean {
  return parseQueryBool(q.get(name));
}

/**
 * The same parameters rewritten as `true` / `false`, for a server that reads
 * them strictly (the kubelet's streaming server accepts only `true` / `1`).
 */
export function normalizeBools(q: URLSearchParams, names: readonly string[]): URLSearchParams {
  const out = new URLSearchParams(q);
  for (const name of names) if (out.has(name)) out.set(name, String(queryBool(q, name)));
  return out;
}
