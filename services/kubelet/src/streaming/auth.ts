/**
 * Who may call the kubelet API (port 10250), decided as the kubelet decides
 * it with kubeadm's KubeletConfiguration (`authentication.anonymous.enabled:
 * false`, `authentication.webhook.enabled: true`, `authorization.mode:
 * Webhook`):
 *
 * - authentication: a client certificate the cluster CA verified is its CN
 *   (user) and O (groups); else a bearer token is what a TokenReview to the
 *   api-server says; else, anonymous only if allowed, or 401 `Unauthorized`.
 * - authorization: a SubjectAccessReview per subresource the path maps to
 *   (pkg/kubelet/server/auth.go, GetRequestAttributes, with
 *   KubeletFineGrainedAuthz as Kubernetes 1.33+ has it on: /pods tries
 *   nodes/pods, then nodes/proxy); the first allowed one lets the request
 *   in, else 403 with the kubelet's message.
 * - caching as the kubelet's delegating authenticator and authorizer:
 *   token reviews 2 min (authenticated or not), access reviews 5 min
 *   allowed, 30 s denied; failed reviews are not cached.
 *
 * Pure decisions plus a class that holds the caches; the reviews themselves
 * come in through `Reviews` (reviews.ts sends them over gRPC).
 */
import { createHash } from 'node:crypto';
import { resourceVerb } from '@kemu/api';

/** A caller of the kubelet API, as authentication.k8s.io's UserInfo. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** One authorization question: may `user` `verb` nodes/`subresource` `name`? */
export interface NodeAttributes {
  user: UserInfo;
  verb: string;
  resource: 'nodes';
  subresource: string;
  name: string;
}

/** What the api-server answers; a rejected promise is a review that could not be made (not cached). */
export interface Reviews {
  /** TokenReview: the token's user, or undefined when the api-server does not authenticate it. */
  tokenReview(token: string): Promise<UserInfo | undefined>;
  /** SubjectAccessReview: allowed or not. */
  subjectAccessReview(a: NodeAttributes): Promise<boolean>;
}

export type AuthorizationMode = 'Webhook' | 'AlwaysAllow';

/** The kubelet's `authentication` and `authorization` settings; defaults are kubeadm's. */
export interface KubeletAuthConfig {
  /** --anonymous-auth (kubeadm: false): requests without credentials are system:anonymous instead of 401. */
  anonymous: boolean;
  /** --authentication-token-webhook (kubeadm: true): bearer tokens are checked with TokenReviews. */
  tokenWebhook: boolean;
  /** --authorization-mode (kubeadm: Webhook). */
  authorizationMode: AuthorizationMode;
}

export const KUBEADM_AUTH: KubeletAuthConfig = { anonymous: false, tokenWebhook: true, authorizationMode: 'Webhook' };

/** The kubelet's cache lifetimes: authentication.webhook.cacheTTL, authorization.webhook.cacheAuthorizedTTL / cacheUnauthorizedTTL. */
export const CACHE_TTL_MS = { token: 120_000, allowed: 300_000, denied: 30_000 };

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

/** What the request carries: the TLS peer's certificate subject (verified by the CA or not) and its Authorization header. */
export interface Credentials {
  certificate?: { verified: boolean; commonName?: string; organizations: string[] };
  authorization?: string;
}

export type AuthDecision = { allowed: true; user: UserInfo } | { allowed: false; code: 401 | 403 | 500; message: string };

/** The verb of an HTTP method, as the kubelet maps it (HEAD is served by GET's handlers, so it is a get; others none). */
export function apiVerb(method: string): string {
  return resourceVerb(method) ?? '';
}

/** `path` is `base` or below it (the kubelet's isSubpath: /stats and /stats/summary, not /statsfoo). */
export function isSubpath(path: string, base: string): boolean {
  const b = base.replace(/\/$/, '');
  return path === b || path.startsWith(b + '/');
}

/**
 * The nodes subresources a path is authorized as, in the order they are
 * tried: a fine-grained one first for /pods, /runningPods, /healthz,
 * /configz and /statusz, then what the path maps to — stats, metrics, log,
 * spec, checkpoint — or proxy for everything else (exec, attach,
 * portForward, containerLogs, run, proxy...).
 */
export function subresourcesOf(path: string): string[] {
  const fine = ['/pods', '/healthz', '/configz', '/statusz'].find((p) => isSubpath(path, p));
  const out: string[] = fine ? [fine.slice(1)] : isSubpath(path, '/runningPods') ? ['pods'] : [];
  const coarse = (
    [
      ['/stats', 'stats'],
      ['/metrics', 'metrics'],
      ['/logs', 'log'],
      ['/spec', 'spec'],
      ['/checkpoint', 'checkpoint'],
    ] as const
  ).find(([p]) => isSubpath(path, p));
  out.push(coarse ? coarse[1] : 'proxy');
  return out;
}

/** The authorization questions of one request, one per subresource, on this node. */
export function requestAttributes(user: UserInfo, method: string, path: string, nodeName: string): NodeAttributes[] {
  const verb = apiVerb(method);
  return subresourcesOf(path).map((subresource) => ({ user, verb, resource: 'nodes', subresource, name: nodeName }));
}

/** The kubelet's 403 body (server.go, InstallAuthFilter): Go's %v of the subresources, and its newline. */
export function forbiddenMessage(attrs: NodeAttributes[]): string {
  const a = attrs[0];
  return `Forbidden (user=${a.user.name}, verb=${a.verb}, resource=${a.resource}, subresource(s)=[${attrs.map((x) => x.subresource).join(' ')}])\n`;
}

/** The kubelet's 500 body when a SubjectAccessReview could not be made. */
export function authorizationErrorMessage(a: NodeAttributes): string {
  return `Authorization error (user=${a.user.name}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})`;
}

/** The bearer token of an Authorization header (`Bearer <token>`, the scheme in any case), as kube's bearertoken authenticator. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^bearer\s+(\S+)\s*$/i.exec(header?.trim() ?? '');
  return m?.[1];
}

/** Every authenticated user is in system:authenticated (the authenticated group adder), unless already in it. */
export function withAuthenticatedGroup(u: UserInfo): UserInfo {
  return u.groups.includes('system:authenticated') || u.groups.includes('system:unauthenticated') ? u : { ...u, groups: [...u.groups, 'system:authenticated'] };
}

/**
 * The x509 user: CN is the name, each O a group. A certificate the CA did
 * not verify (or without a CN) is an error, and an error is a 401 even
 * where anonymous requests are allowed (the kubelet fails on it before the
 * anonymous fallback).
 */
export function certificateUser(c: NonNullable<Credentials['certificate']>): UserInfo | Error {
  if (!c.verified) return new Error('x509: certificate signed by unknown authority');
  if (!c.commonName) return new Error('x509: certificate has no common name');
  return { name: c.commonName, groups: [...c.organizations] };
}

/** A map whose entries expire; the oldest goes first once it is full (the kubelet's caches are bounded LRUs too). */
export class ExpiringCache<V> {
  private entries = new Map<string, { value: V; until: number }>();

  constructor(
    private now: () => number,
    private max = 4096,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until: this.now() + ttlMs });
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Authenticates and authorizes the kubelet API's requests, with the kubelet's caches. */
export class KubeletAuth {
  private tokens: ExpiringCache<UserInfo | null>;
  private decisions: ExpiringCache<boolean>;

  constructor(
    private config: KubeletAuthConfig,
    private nodeName: string,
    private reviews: Reviews,
    now: () => number = Date.now,
  ) {
    this.tokens = new ExpiringCache(now);
    this.decisions = new ExpiringCache(now);
  }

  /** The user a request comes from; undefined is 401. Errors too are 401 (the kubelet logs them). */
  async authenticate(c: Credentials): Promise<UserInfo | undefined> {
    let failed = false;
    if (c.certificate) {
      const u = certificateUser(c.certificate);
      if (!(u instanceof Error)) return withAuthenticatedGroup(u);
      failed = true;
    }
    const token = bearerToken(c.authorization);
    if (token && this.config.tokenWebhook) {
      const u = await this.reviewToken(token);
      if (u) return withAuthenticatedGroup(u);
      failed = true;
    }
    if (failed || !this.config.anonymous) return undefined;
    return ANONYMOUS;
  }

  /** The token's user, from the cache or a TokenReview; tokens are cached by their hash, never kept in clear. */
  private async reviewToken(token: string): Promise<UserInfo | undefined> {
    const key = sha256(token);
    const cached = this.tokens.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const u = await this.reviews.tokenReview(token).catch(() => 'error' as const);
    if (u === 'error') return undefined;
    this.tokens.set(key, u ?? null, CACHE_TTL_MS.token);
    return u;
  }

  /** Whether one question is allowed, from the cache or a SubjectAccessReview (an error is thrown, not cached). */
  private async allowed(a: NodeAttributes): Promise<boolean> {
    if (this.config.authorizationMode === 'AlwaysAllow') return true;
    const key = JSON.stringify([a.user.name, a.user.uid ?? '', [...a.user.groups].sort(), a.user.extra ?? {}, a.verb, a.subresource, a.name]);
    const cached = this.decisions.get(key);
    if (cached !== undefined) return cached;
    const ok = await this.reviews.subjectAccessReview(a);
    this.decisions.set(key, ok, ok ? CACHE_TTL_MS.allowed : CACHE_TTL_MS.denied);
    return ok;
  }

  /** The kubelet's filter: 401 without a user, then each subresource in turn until one is allowed, else 403. */
  async check(method: string, path: string, c: Credentials): Promise<AuthDecision> {
    const user = await this.authenticate(c);
    if (!user) return { allowed: false, code: 401, message: 'Unauthorized' };
    const attrs = requestAttributes(user, method, path, this.nodeName);
    for (const a of attrs) {
      try {
        if (await this.allowed(a)) return { allowed: true, user };
      } catch {
        return { allowed: false, code: 500, message: authorizationErrorMessage(a) };
      }
    }
    return { allowed: false, code: 403, message: forbiddenMessage(attrs) };
  }
}
