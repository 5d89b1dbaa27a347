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
import type { ConfigMap, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import { endpointsFromSlices } from '@kemu/proxy/model';
import { resolveBackend, upstreamName, type BackendIndex, type Target } from './backends.js';
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
  /** The controller's ConfigMap (--configmap), when it has one and it exists. */
  configMap?: ConfigMap;
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
  /** The prefix of the annotations read (--annotations-prefix). Default nginx.ingress.kubernetes.io. */
  annotationsPrefix?: string;
  /**
   * `namespace/name` of the Service requests no rule matches go to (--default-backend-service), instead of
   * the controller's own 404: its first port, as ingress-nginx takes it.
   */
  defaultBackendService?: string;
  /** The ConfigMap's ssl-redirect: whether hosts with a certificate redirect HTTP (the annotation overrides). Default true. */
  sslRedirect?: boolean;
}

export const CATCH_ALL = '_';

export const DEFAULT_ANNOTATIONS_PREFIX = 'nginx.ingress.kubernetes.io';
const OLD_PREFIX = 'ingress.kubernetes.io';

/**
 * The annotation `name` under the controller's prefix (ingress-nginx's, unless --annotations-prefix says
 * otherwise), or else under the one of before 0.9, `ingress.kubernetes.io/` (`legacy`: its rewrite-target
 * replaced the matched prefix only).
 */
export function annotation(ing: Ingress, name: string, prefix = DEFAULT_ANNOTATIONS_PREFIX): { value: string; legacy: boolean } | undefined {
  const a = ing.metadata?.annotations ?? {};
  const current = a[`${prefix}/${name}`];
  if (current !== undefined) return { value: current, legacy: prefix === OLD_PREFIX };
  const old = a[`${OLD_PREFIX}/${name}`];
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

/** What of the options one Ingress's contribution depends on. */
type ContributionOptions = Pick<ModelOptions, 'sslDir' | 'annotationsPrefix' | 'sslRedirect' | 'legacy'>;

function contribution(ing: Ingress, index: BackendIndex, secrets: ReadonlyMap<string, Secret>, o: ContributionOptions): Contribution | Problem[] {
  const key = keyOf(ing);
  const ns = ing.metadata?.namespace ?? 'default';
  const problems: Problem[] = [];
  const fail = (reason: string, message: string) => problems.push({ ingress: key, reason, message });
  const prefix = o.annotationsPrefix ?? DEFAULT_ANNOTATIONS_PREFIX;
  const rw = annotation(ing, 'rewrite-target', prefix);
  const rewrite = rw?.value;
  const useRegex = annotation(ing, 'use-regex', prefix)?.value === 'true';
  if (rewrite !== undefined && (rewrite === '' || UNSAFE_REWRITE.test(rewrite)))
    fail('InvalidAnnotation', `rewrite-target ${JSON.stringify(rewrite)} contains a character nginx cannot take`);
  const redirectAnnotation = annotation(ing, 'ssl-redirect', prefix)?.value;
  const sslRedirect = redirectAnnotation === undefined ? o.sslRedirect !== false : redirectAnnotation !== 'false';
  // Releases before 0.22 (the 0.x image of quay.io among them) replaced the matched prefix only.
  const rewriting = rw ? { rewrite: rw.value, ...(rw.legacy || o.legacy ? { legacyRewrite: true } : {}) } : {};
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
    const c = certificateFile(ns, tls.secretName, secrets, o.sslDir);
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

/**
 * The --default-backend-service as a target: the endpoints of its first port (503 while it has none or does
 * not exist, as ingress-nginx answers then); undefined without the flag (the controller's own 404).
 */
function controllerDefaultBackend(ref: string | undefined, index: BackendIndex): Target | undefined {
  if (!ref) return undefined;
  const [namespace, name] = ref.includes('/') ? ref.split('/', 2) : ['default', ref];
  const port = index.services.get(`${namespace}/${name}`)?.spec?.ports?.[0]?.port ?? 80;
  const r = resolveBackend(namespace, { service: { name, port: { number: port } } }, index);
  return r.ok ? r.target : { kind: 'unavailable', name: upstreamName(namespace, name, 'default') };
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
    const c = excluded ? [excluded] : contribution(ing, index, secrets, o);
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
  const defaultTarget = controllerDefaultBackend(o.defaultBackendService, index);
  const servers: Server[] = [CATCH_ALL, ...hosts].map((host) => {
    const tls = certs.get(host);
    // Redirecting to HTTPS needs a certificate of the host's own; the default one would only warn the client.
    const withRedirect = (r: Route): Route => ({ ...r, sslRedirect: r.sslRedirect && tls !== undefined });
    const fallback = fallbacks.get(host) ?? { ingress: '', path: '/', pathType: 'Prefix', target: defaultTarget, useRegex: false, sslRedirect: false };
    return { host, ...(tls ? { tls } : {}), locations: locationsFor((routes.get(host) ?? []).map(withRedirect), fallback) };
  });
  const upstreams = new Map<string, string[]>();
  for (const s of servers) for (const l of s.locations) if (l.route.target?.kind === 'upstream') upstreams.set(l.route.target.name, l.route.target.servers);
  const files = [...new Map(servers.flatMap((s) => (s.tls ? [[s.tls.file.path, s.tls.file] as const] : []))).values()];
  return { servers, upstreams: new Map([...upstreams].sort(([a], [b]) => (a < b ? -1 : 1))), served, problems, files };
}
