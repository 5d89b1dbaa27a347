/**
 * Bootstrap tokens (kube-apiserver's --enable-bootstrap-token-auth): a
 * token `<id>.<secret>` authenticates as `system:bootstrap:<id>` in group
 * `system:bootstrappers` (plus the Secret's auth-extra-groups) when the
 * Secret `kube-system/bootstrap-token-<id>` of type
 * `bootstrap.kubernetes.io/token` holds that secret, allows authentication
 * and has not expired. Kubelets use one to ask for their own certificate
 * (TLS bootstrapping); the decision is pure, the Secret is read at the edge.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { isNotFound, lookupResource, type KubeObject } from '@kemu/api';
import type { UserInfo } from '../http/auth.js';

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const SECRETS = lookupResource('', 'v1', 'secrets')!;

/** The id and secret of a token shaped as a bootstrap token. */
export function parseBootstrapToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN.exec(token);
  return m ? { id: m[1], secret: m[2] } : undefined;
}

const field = (s: Secret, k: string): string => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString('utf8') : '');

/** Who `token` is, judged against its Secret (bootstrap/token/jws: the same checks). */
export function bootstrapTokenUser(token: string, secret: Secret | undefined, now = Date.now()): UserInfo | undefined {
  const t = parseBootstrapToken(token);
  if (!t || !secret || secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE || secret.metadata?.deletionTimestamp) return undefined;
  if (field(secret, 'token-id') !== t.id) return undefined;
  const want = Buffer.from(field(secret, 'token-secret'));
  const got = Buffer.from(t.secret);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
  if (field(secret, 'usage-bootstrap-authentication') !== 'true') return undefined;
  const exp = field(secret, 'expiration');
  // RFC 3339 only, as the authenticator parses it.
  if (exp && !(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(exp) && Date.parse(exp) > now)) return undefined;
  const listed = field(secret, 'auth-extra-groups');
  const extra = listed ? listed.split(',').map((g) => g.trim()) : [];
  // One group that is not a bootstrappers' group makes the whole token invalid (bootstrap's GetGroups).
  if (extra.some((g) => !/^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/.test(g))) return undefined;
  const groups = [...new Set(['system:bootstrappers', ...extra])].sort();
  return { name: `system:bootstrap:${t.id}`, groups: [...groups, 'system:authenticated'] };
}

/** The Secret `kube-system/bootstrap-token-<id>` for a bootstrap-shaped token, read from storage. */
export async function bootstrapTokenSecret(
  rest: { get(info: typeof SECRETS, ns: string, name: string): Promise<KubeObject> },
  token: string,
): Promise<Secret | undefined> {
  const t = parseBootstrapToken(token);
  if (!t) return undefined;
  try {
    return (await rest.get(SECRETS, 'kube-system', `bootstrap-token-${t.id}`)) as Secret;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
