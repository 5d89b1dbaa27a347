/**
 * Authentication: a client certificate signed by the cluster CA (user = CN,
 * groups = O) or a bearer token (the token file, bootstrap tokens, service
 * account tokens). Everything else is 401,
 * except the health and version endpoints (served to system:anonymous).
 * Authorization is ../authz (RBAC).
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface UserInfo {
  name: string;
  groups: string[];
  /** A service account token's user: the account's uid, and extra naming the credential and the pod it is bound to. */
  uid?: string;
  extra?: Record<string, string[]>;
}

/** A TokenReview's finding: the user and the audiences the token is good for, or why it is not authenticated. */
export interface TokenReviewResult {
  user?: UserInfo;
  audiences?: string[];
  error?: string;
}

export const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version', '/version/']);

/** Parse a static token file: `token,user,uid,"group1,group2"` per line, as kube-apiserver's --token-auth-file. */
export function parseTokenFile(text: string): Map<string, UserInfo> {
  const out = new Map<string, UserInfo>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const m = t.match(/^([^,]+),([^,]+),([^,]*)(?:,"?([^"]*)"?)?$/);
    if (!m) continue;
    out.set(m[1], {
      name: m[2],
      groups: m[4]
        ? m[4]
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean)
        : [],
    });
  }
  return out;
}

/** The user of a static token (--token-auth-file), in group system:authenticated as every authenticated user. */
export function staticTokenUser(token: string, tokens: Map<string, UserInfo>): UserInfo | undefined {
  const user = tokens.get(token);
  return user && { name: user.name, groups: [...user.groups, 'system:authenticated'] };
}

/** The user of a verified client certificate: CN the name, O the groups (kube-apiserver's x509 authenticator). */
export function certificateUser(subject: { CN?: string | string[]; O?: string | string[] } | undefined): UserInfo | undefined {
  const cn = Array.isArray(subject?.CN) ? subject.CN[0] : subject?.CN;
  if (!cn) return undefined;
  const o = subject?.O;
  const groups = Array.isArray(o) ? o : o ? [o] : [];
  return { name: String(cn), groups: [...groups, 'system:authenticated'] };
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** Certificates already judged, by fingerprint (a component's connection presents the same one on every call). */
const judged = new Map<string, boolean>();

/**
 * The user of a client certificate that TLS did not verify (gRPC asks for one without requiring it): signed by the
 * CA, within its validity, for client authentication — what Go's x509 verification in kube-apiserver checks.
 */
export function verifiedCertificateUser(peer: PeerCertificate | undefined, ca: X509Certificate, now = Date.now()): UserInfo | undefined {
  if (!peer?.raw?.length) return undefined;
  let ok = judged.get(peer.fingerprint256);
  if (ok === undefined) {
    try {
      const x = new X509Certificate(peer.raw);
      ok = x.checkIssued(ca) && x.verify(ca.publicKey) && (x.keyUsage === undefined || x.keyUsage.includes(CLIENT_AUTH));
    } catch {
      ok = false;
    }
    if (judged.size > 1000) judged.clear();
    judged.set(peer.fingerprint256, ok);
  }
  if (!ok || Date.parse(peer.valid_from) > now || Date.parse(peer.valid_to) < now) return undefined;
  return certificateUser(peer.subject);
}

/** Who a bearer token belongs to, if anyone. */
export type TokenAuthenticator = ((token: string) => Promise<UserInfo | undefined>) & {
  /** TokenReview: the token authenticated for `audiences` (none: the api-server's own). */
  review?: (token: string, audiences?: string[]) => Promise<TokenReviewResult>;
};

interface ServiceAccountAuthenticator {
  readonly issuer?: string;
  authenticate(token: string): Promise<UserInfo | undefined>;
  review?(token: string, audiences: string[]): Promise<TokenReviewResult>;
}

/**
 * kube-apiserver's token authenticators in its order: the static token file, bootstrap tokens (from their Secrets),
 * then service account tokens. Those two read storage, so a token they accepted is remembered for 10 s, as
 * kube-apiserver's token cache does (its TokenSuccessCacheTTL): every call of a controller with a service account
 * credential would otherwise read the account (and its pod) again. Failures are not remembered (TokenFailureCacheTTL 0).
 *
 * Its `review` answers TokenReviews: the api-server's audiences are the service account issuer (--api-audiences'
 * default); the static and bootstrap tokens, which name no audience, are good for those only.
 */
export function tokenAuthenticator(
  tokens: Map<string, UserInfo>,
  bootstrap?: TokenAuthenticator,
  saTokens?: ServiceAccountAuthenticator,
  now: () => number = Date.now,
): TokenAuthenticator {
  const cache = new Map<string, { user: UserInfo; until: number }>();
  const apiAudiences = saTokens?.issuer ? [saTokens.issuer] : [];
  const review = async (token: string, audiences?: string[]): Promise<TokenReviewResult> => {
    const wanted = audiences?.length ? audiences : apiAudiences;
    const agnostic = staticTokenUser(token, tokens) ?? (await bootstrap?.(token));
    if (agnostic) {
      // kube-apiserver's audience-agnostic wrapper: good for the requested audiences that are the api-server's.
      if (!apiAudiences.length) return { user: agnostic, audiences: wanted };
      const selected = apiAudiences.filter((a) => wanted.includes(a));
      return selected.length ? { user: agnostic, audiences: selected } : { error: INVALID_TOKEN };
    }
    const found: TokenReviewResult = saTokens?.review ? await saTokens.review(token, wanted) : { user: await saTokens?.authenticate(token), audiences: wanted };
    return found.user ? found : { error: found.error ?? INVALID_TOKEN };
  };
  const authn: TokenAuthenticator = async (token) => {
    const fixed = staticTokenUser(token, tokens);
    if (fixed) return fixed;
    const key = createHash('sha256').update(token).digest('base64');
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.user;
    const user = (await bootstrap?.(token)) ?? (await saTokens?.authenticate(token));
    if (!user) return undefined;
    // Bounded: expired entries go first, then the oldest.
    if (cache.size >= 4096) for (const [k, v] of cache) if (v.until <= now() || cache.size >= 4096) cache.delete(k);
    cache.set(key, { user, until: now() + TOKEN_CACHE_TTL_MS });
    return user;
  };
  authn.review = review;
  return authn;
}

const TOKEN_CACHE_TTL_MS = 10_000;
const INVALID_TOKEN = 'invalid bearer token';

/**
 * Who sent a request, as kube-apiserver's union of authenticators: a client certificate the CA signed first, then
 * a bearer token (so a certificate's user wins over a token sent with it; a token alone that nobody knows is a
 * 401). Remembered per request, so flow control and audit (before and after the handler) and the handler ask once.
 */
const users = new WeakMap<IncomingMessage, Promise<UserInfo | undefined>>();

/**
 * Whether the client presented a certificate that does not verify (another CA, not for client authentication).
 * kube-apiserver's x509 authenticator fails such a request, and anonymous access does not apply to a failed one
 * (its union of authenticators fails on error before the anonymous one): a 401 even on the public paths, unless a
 * token names a user.
 */
export function presentedBadCertificate(req: IncomingMessage): boolean {
  const sock = req.socket as TLSSocket;
  if (typeof sock.getPeerCertificate !== 'function' || sock.authorized) return false;
  const peer = sock.getPeerCertificate() as PeerCertificate | null;
  return peer !== null && Object.keys(peer).length > 0;
}

export function authenticateRequest(req: IncomingMessage, authn: TokenAuthenticator): Promise<UserInfo | undefined> {
  let p = users.get(req);
  if (!p) {
    p = (async () => {
      const sock = req.socket as TLSSocket;
      if (typeof sock.getPeerCertificate === 'function' && sock.authorized) {
        const user = certificateUser(sock.getPeerCertificate()?.subject);
        if (user) return user;
      }
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      return m ? authn(m[1]) : undefined;
    })().catch(() => undefined);
    users.set(req, p);
  }
  return p;
}
