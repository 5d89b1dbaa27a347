/**
 * The cluster's objects → what nginx serves: one server per host (and the
 * catch-all `_`), their locations and certificates, the upstreams they proxy
 * to, and the Ingresses that could not be configured and why. Ingresses are
 * taken oldest first (ingress-nginx's order), so an older Ingress keeps a
 * host's path, certificate or default backend a newer one also claims. An
 * Ingress with any problem — a Service port that does not exist, a missing
 * or broken TLS secret, a path or annotation nginx cannot take — is left out
 * whole, and the others are configured as if it did not exist. Pure.
 */
import type { Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import { endpointsFromSlices } from '@kemu/proxy';
import { resolveBackend, type BackendIndex, type Target } from './backends.js';
import { isServed, type ClassOptions } from './classes.js';
import { locationsFor, normalizePath, pathProblem, type Location, type PathType, type Route } from './locations.js';
import { certificateFile, type PemFile } from './tls.js';

/** The objects the configuration is made from (the informers' caches). */
export interface ClusterState {
  ingresses: readonly Ingress[];
  classes: readonly IngressClass[];
  services: readonly Service[];
  slices: readonly EndpointSlice[];
  secrets: readonly Secret[];
}

export interface Problem {
  /** The Ingress, `namespace/name`. */
  ingress: string;
  reason: string;
  message: string;
}

export interface Server {
  /** The host, `*.example.com` for a wildcard, `_` for the catch-all server. */
  host: string;
  /** The certificate of the host, from the oldest Ingress that lists it under tls. */
  tls?: { file: PemFile; ingress: string };
  locations: Location[];
}

export interface Model {
  /** The catch-all server first, then the hosts in name order. */
  servers: Server[];
  /** Upstream name → its pod addresses, by name. */
  upstreams: Map<string, string[]>;
  /** The Ingresses configured (`namespace/name`), oldest first. */
  served: string[];
  problems: Problem[];
  /** The certificates the servers load. */
  files: PemFile[];
}

export interface ModelOptions extends ClassOptions {
  /** Where certificate files go. */
  sslDir: string;
  /** Ingresses to leave out, with why (nginx refused what they made). */
  exclude?: ReadonlyMap<string, Problem>;
}

export const CATCH_ALL = '_';

/** The annotation `name` under ingress-nginx's prefix, or else under the older `ingress.kubernetes.io/` one (`legacy`). */
export function annotation(ing: Ingress, name: string): { value: string; legacy: boolean } | undefined {
  const a = ing.metadata?.annotations ?? {};
  const current = a[`nginx.ingress.kubernetes.io/${name}`];
  if (current !== undefined) return { value: current, legacy: false };
  const old = a[`ingress.kubernetes.io/${name}`];
  return old === undefined ? undefined : { value: old, legacy: true };
}

const keyOf = (ing: Ingress) => `${ing.metadata?.namespace ?? 'default'}/${ing.metadata?.name ?? ''}`;
const byAge = (a: Ingress, b: Ingress) =>
  (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') || keyOf(a).localeCompare(keyOf(b));
const UNSAFE_REWRITE = /[\s"'{};\\\p{Cc}]/u;

/** What one valid Ingress contributes. */
interface Contribution {
  routes: { host: string; route: Route }[];
  certs: { host: string; file: PemFile }[];
  /** Its defaultBackend, if it has one; `catchAll` when it has no rules. */
  defaultBackend?: { target: Target; catchAll: boolean };
  hosts: string[];
}

function contribution(ing: Ingress, index: BackendIndex, secrets: ReadonlyMap<string, Secret>, sslDir: string): Contribution | Problem[] {
  const key = keyOf(ing);
  const ns = ing.metadata?.namespace ?? 'default';
  const problems: Problem[] = [];
  const fail = (reason: string, message: string) => problems.push({ ingress: key, reason, message });
  const rw = annotation(ing, 'rewrite-target');
  const rewrite = rw?.value;
  const useRegex = annotation(ing, 'use-regex')?.value === 'true';
  if (rewrite !== undefined && (rewrite === '' || UNSAFE_REWRITE.test(rewrite)))
    fail('InvalidAnnotation', `rewrite-target ${JSON.stringify(rewrite)} contains a character nginx cannot take`);
  const sslRedirect = annotation(ing, 'ssl-redirect')?.value !== 'false';
  const rewriting = rw ? { rewrite: rw.value, ...(rw.legacy ? { legacyRewrite: true } : {}) } : {};
  const out: Contribution = { routes: [], certs: [], hosts: [] };
  for (const rule of ing.spec?.rules ?? []) {
    const host = rule.host || CATCH_ALL;
    if (!out.hosts.includes(host)) out.hosts.push(host);
    for (const p of rule.http?.paths ?? []) {
      const pathType = (p.pathType ?? 'ImplementationSpecific') as PathType;
      const path = normalizePath(p.path, pathType);
      const bad = pathProblem(path, useRegex || rewrite !== undefined);
      if (bad) fail('InvalidPath', bad);
      const r = resolveBackend(ns, p.backend, index);
      if (!r.ok) fail(r.reason, r.message);
      else out.routes.push({ host, route: { ingress: key, path, pathType, target: r.target, ...rewriting, useRegex, sslRedirect } });
    }
  }
  for (const tls of ing.spec?.tls ?? []) {
    // A tls entry without a secret keeps the default certificate, as in ingress-nginx.
    if (!tls.secretName) continue;
    const c = certificateFile(ns, tls.secretName, secrets, sslDir);
    if (!c.ok) fail(c.reason, c.message);
    // Without hosts, the certificate is for every host of the Ingress.
    else for (const host of tls.hosts?.length ? tls.hosts : out.hosts) out.certs.push({ host, file: c.file });
  }
  if (ing.spec?.defaultBackend) {
    const r = resolveBackend(ns, ing.spec.defaultBackend, index);
    if (!r.ok) fail(r.reason, r.message);
    else out.defaultBackend = { target: r.target, catchAll: !ing.spec.rules?.length };
  }
  return problems.length ? problems : out;
}

export function buildModel(state: ClusterState, o: ModelOptions): Model {
  const index: BackendIndex = {
    services: new Map(state.services.map((s) => [`${s.metadata?.namespace ?? 'default'}/${s.metadata?.name ?? ''}`, s])),
    endpoints: endpointsFromSlices(state.slices),
  };
  const secrets = new Map(state.secrets.map((s) => [`${s.metadata?.namespace ?? 'default'}/${s.metadata?.name ?? ''}`, s]));
  const routes = new Map<string, Route[]>([[CATCH_ALL, []]]);
  const certs = new Map<string, { file: PemFile; ingress: string }>();
  const fallbacks = new Map<string, Route>();
  const served: string[] = [];
  const problems: Problem[] = [];
  const ours = state.ingresses.filter((i) => isServed(i, state.classes, o)).sort(byAge);
  for (const ing of ours) {
    const key = keyOf(ing);
    const excluded = o.exclude?.get(key);
    const c = excluded ? [excluded] : contribution(ing, index, secrets, o.sslDir);
    if (Array.isArray(c)) {
      problems.push(...c);
      continue;
    }
    served.push(key);
    for (const { host, route } of c.routes) routes.set(host, [...(routes.get(host) ?? []), route]);
    for (const host of c.hosts) if (!routes.has(host)) routes.set(host, []);
    // A host's certificate may come from another Ingress than its rules: kept for any host once all are known.
    for (const { host, file } of c.certs) if (!certs.has(host)) certs.set(host, { file, ingress: key });
    const db = c.defaultBackend;
    if (db) {
      const root = (): Route => ({ ingress: key, path: '/', pathType: 'Prefix', target: db.target, useRegex: false, sslRedirect: false });
      for (const host of db.catchAll ? [CATCH_ALL] : c.hosts) if (!fallbacks.has(host)) fallbacks.set(host, root());
    }
  }
  const hosts = [...routes.keys()].filter((h) => h !== CATCH_ALL).sort();
  const servers: Server[] = [CATCH_ALL, ...hosts].map((host) => {
    const tls = certs.get(host);
    // Redirecting to HTTPS needs a certificate of the host's own; the default one would only warn the client.
    const withRedirect = (r: Route): Route => ({ ...r, sslRedirect: r.sslRedirect && tls !== undefined });
    const fallback = fallbacks.get(host) ?? { ingress: '', path: '/', pathType: 'Prefix', target: undefined, useRegex: false, sslRedirect: false };
    return { host, ...(tls ? { tls } : {}), locations: locationsFor((routes.get(host) ?? []).map(withRedirect), fallback) };
  });
  const upstreams = new Map<string, string[]>();
  for (const s of servers) for (const l of s.locations) if (l.route.target?.kind === 'upstream') upstreams.set(l.route.target.name, l.route.target.servers);
  const files = [...new Map(servers.flatMap((s) => (s.tls ? [[s.tls.file.path, s.tls.file] as const] : []))).values()];
  return { servers, upstreams: new Map([...upstreams].sort(([a], [b]) => (a < b ? -1 : 1))), served, problems, files };
}
