/**
 * The paths of one host → nginx `location` blocks, with the matching
 * semantics of the Ingress specification and ingress-nginx's choices:
 *
 * - Exact `/foo` is `location = /foo`.
 * - Prefix `/foo` matches element-wise (`/foo`, `/foo/`, `/foo/bar`, not
 *   `/foobar`): `location = /foo` and `location /foo/`; a trailing slash in
 *   the Ingress is ignored, as the specification says; `/` is `location /`.
 *   nginx picks the longest prefix, and an exact match before any prefix,
 *   which is the specification's precedence (longest path first, Exact over
 *   Prefix at equal length).
 * - ImplementationSpecific is treated as Prefix.
 * - When any path of the host uses a regular expression (`use-regex`) or a
 *   `rewrite-target`, every path of the host becomes a case-insensitive
 *   regular expression anchored at the start (`~* "^/foo"`; Exact adds `$`),
 *   ordered longest first, since nginx tries regular expressions in order —
 *   ingress-nginx does the same, for the same reason.
 *
 * The oldest Ingress wins a path two of them claim. A host without `/` gets
 * one sending what nothing else matched to `fallback` (its Ingress's
 * defaultBackend, or the controller's 404). Pure.
 */
import type { Target } from './backends.js';

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** One path of one Ingress on one host. */
export interface Route {
  /** The Ingress, `namespace/name`. */
  ingress: string;
  path: string;
  pathType: PathType;
  /** undefined: the controller's default backend (404). */
  target: Target | undefined;
  /** The rewrite-target annotation, when set. */
  rewrite?: string;
  /** It came under the annotation prefix of ingress-nginx before 0.9, whose rewrite replaced the path's prefix only. */
  legacyRewrite?: boolean;
  useRegex: boolean;
  /** Redirect plain HTTP to HTTPS (the host has a certificate and the Ingress does not opt out). */
  sslRedirect: boolean;
}

export interface Location {
  /** nginx's modifier: '' (prefix), '=' (exact) or '~*' (case-insensitive regular expression). */
  modifier: '' | '=' | '~*';
  /** The path or regular expression as nginx reads it. */
  match: string;
  route: Route;
}

/** Characters a path may not contain: they would end the directive or the quoted string nginx reads it from. */
const UNSAFE_PATH = /[\s"'{};#\\\p{Cc}]/u;
const UNSAFE_REGEX = /[\s"\p{Cc}]|\\$/u;

/** Why `path` cannot be configured (undefined: it can). */
export function pathProblem(path: string, regex: boolean): string | undefined {
  if (regex) return UNSAFE_REGEX.test(path) ? `path ${JSON.stringify(path)} contains a character nginx cannot take in a regular expression` : undefined;
  if (!path.startsWith('/')) return `path ${JSON.stringify(path)} must start with /`;
  return UNSAFE_PATH.test(path) ? `path ${JSON.stringify(path)} contains a character nginx cannot take in a location` : undefined;
}

/** Prefix paths ignore a trailing slash; an empty path is `/`. */
export function normalizePath(path: string | undefined, pathType: PathType): string {
  const p = path || '/';
  return pathType === 'Exact' || p === '/' ? p : p.replace(/\/+$/, '') || '/';
}

/** Whether the host's paths are regular expressions: some Ingress on it asks for them or rewrites. */
export function usesRegex(routes: readonly Route[]): boolean {
  return routes.some((r) => r.useRegex || (r.rewrite !== undefined && r.rewrite !== r.path));
}

export function locationsFor(routes: readonly Route[], fallback: Route): Location[] {
  return usesRegex(routes) ? regexLocations(routes, fallback) : prefixLocations(routes, fallback);
}

function prefixLocations(routes: readonly Route[], fallback: Route): Location[] {
  const byKey = new Map<string, Location & { derived: boolean }>();
  const put = (modifier: '' | '=', match: string, route: Route, derived: boolean) => {
    const key = `${modifier} ${match}`;
    const cur = byKey.get(key);
    // First claim wins, except that an Exact path beats the exact half of a Prefix one.
    if (!cur || (cur.derived && !derived)) byKey.set(key, { modifier, match, route, derived });
  };
  for (const r of routes) {
    if (r.pathType === 'Exact') put('=', r.path, r, false);
    else if (r.path === '/') put('', '/', r, false);
    else {
      put('=', r.path, r, true);
      put('', `${r.path}/`, r, false);
    }
  }
  if (!byKey.has(' /')) put('', '/', fallback, false);
  return [...byKey.values()]
    .map(({ modifier, match, route }) => ({ modifier, match, route }))
    .sort((a, b) => (a.match === b.match ? a.modifier.localeCompare(b.modifier) : a.match < b.match ? -1 : 1));
}

function regexLocations(routes: readonly Route[], fallback: Route): Location[] {
  const seen = new Set<string>();
  const out: Location[] = [];
  for (const r of [...routes, fallback]) {
    const match = `^${r.path}${r.pathType === 'Exact' ? '$' : ''}`;
    if (r === fallback && routes.some((x) => x.path === '/' && x.pathType !== 'Exact')) continue;
    if (seen.has(match)) continue;
    seen.add(match);
    out.push({ modifier: '~*', match, route: r });
  }
  // Longest first (stable): nginx takes the first regular expression that matches.
  return out
    .map((l, i) => ({ l, i }))
    .sort((a, b) => b.l.match.length - a.l.match.length || a.i - b.i)
    .map(({ l }) => l);
}
