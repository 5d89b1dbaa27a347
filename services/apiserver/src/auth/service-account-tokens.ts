/**
 * Service account tokens: the TokenRequest API (serviceaccounts/<name>/token)
 * issues RS256 JWTs signed with the service account key, with Kubernetes'
 * claims (iss, sub system:serviceaccount:<ns>:<name>, aud, exp/iat/nbf, and
 * kubernetes.io with namespace, service account and bound pod). The
 * api-server accepts them as bearer tokens while the service account — and
 * the pod they are bound to — still exist with the same uid. As kube-apiserver
 * does by default (--service-account-extend-token-expiration), tokens asked
 * for the kube-api-access default of 3607 s live a year, so kubelets need
 * not rotate them. A token is good only for the audiences it names: the
 * api-server takes those naming its own (the issuer), a TokenReview those
 * naming one it asks for.
 */
import { createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { BoundObjectReference, TokenRequest, TokenRequestSpec, TokenRequestStatus } from 'kubernetes-types/authentication/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { badRequest, forbidden, formatTime, isNotFound, isPlainObject, lookupResource, StatusError, type KubeObject } from '@kemu/api';
import type { RestStore } from '../registry/rest.js';
import type { TokenReviewResult, UserInfo } from '../http/auth.js';
import { nodeTokenRequestRefusal } from '../admission/node-restriction.js';
import { nodeOf } from '../authz/node-authorizer.js';
import { currentUser } from '../authz/request-user.js';

/** What TokenRequest answers: the request's spec, as granted, and the token. */
export type IssuedToken = {
  kind: 'TokenRequest';
  apiVersion: 'authentication.k8s.io/v1';
  metadata: KubeObject['metadata'];
  /** boundObjectRef is null, not absent, when there is none (a Go pointer without omitempty). */
  spec: { audiences: string[]; expirationSeconds: number; boundObjectRef: BoundObjectReference | null };
  status: TokenRequestStatus;
};

/** The `kubernetes.io` claim of a service account token. */
interface KubeClaims {
  namespace: string;
  serviceaccount: { name: string; uid?: string };
  pod?: { name: string; uid?: string };
  node?: { name: string };
  warnafter?: number;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The claims of a token payload we read back, or undefined when they are not ours. */
function kubeClaims(v: unknown): KubeClaims | undefined {
  if (!isPlainObject(v) || !isPlainObject(v.serviceaccount)) return undefined;
  const namespace = str(v.namespace);
  const sa = str(v.serviceaccount.name);
  if (!namespace || !sa) return undefined;
  const claims: KubeClaims = { namespace, serviceaccount: { name: sa, uid: str(v.serviceaccount.uid) } };
  if (isPlainObject(v.pod)) claims.pod = { name: str(v.pod.name) ?? '', uid: str(v.pod.uid) };
  if (isPlainObject(v.node) && str(v.node.name)) claims.node = { name: str(v.node.name)! };
  return claims;
}

const SA = lookupResource('', 'v1', 'serviceaccounts')!;
const PODS = lookupResource('', 'v1', 'pods')!;
const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const EXTENDED = 365 * 24 * 3600;

export class ServiceAccountTokens {
  private priv: KeyObject;
  private pub: KeyObject;

  constructor(
    privateKeyPem: string | Buffer,
    readonly issuer: string,
    private rest: RestStore,
  ) {
    this.priv = createPrivateKey(privateKeyPem);
    this.pub = createPublicKey(this.priv);
  }

  /** POST serviceaccounts/<name>/token: a TokenRequest with status.token. */
  async issue(ns: string, name: string, req: KubeObject, now = new Date()): Promise<IssuedToken> {
    const spec: Partial<TokenRequestSpec> = (req as TokenRequest).spec ?? {};
    const exp = spec.expirationSeconds ?? 3600;
    if (!Number.isInteger(exp) || exp < 600)
      throw new StatusError(
        422,
        'Invalid',
        `TokenRequest.authentication.k8s.io "${name}" is invalid: spec.expirationSeconds: Invalid value: ${exp}: may not specify a duration less than 10 minutes`,
        {
          name,
          group: 'authentication.k8s.io',
          kind: 'TokenRequest',
          causes: [{ reason: 'FieldValueInvalid', message: 'may not specify a duration less than 10 minutes', field: 'spec.expirationSeconds' }],
        },
      );
    const sa = await this.rest.get(SA, ns, name);
    await this.nodeRestriction(ns, name, req as TokenRequest);
    const claims: KubeClaims = { namespace: ns, serviceaccount: { name, uid: sa.metadata.uid } };
    const bound = spec.boundObjectRef;
    if (bound) {
      if (bound.kind !== 'Pod') throw badRequest(`cannot bind token to object of kind ${bound.kind}`);
      const pod = (await this.rest.get(PODS, ns, bound.name ?? '')) as Pod & KubeObject;
      if (bound.uid && bound.uid !== pod.metadata.uid)
        throw new StatusError(
          409,
          'Conflict',
          `the UID in the bound object reference (${bound.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
        );
      if (pod.spec?.serviceAccountName && pod.spec.serviceAccountName !== name)
        throw badRequest(`cannot bind token to pod "${pod.metadata.name}": pod uses service account "${pod.spec.serviceAccountName}"`);
      claims.pod = { name: pod.metadata.name ?? '', uid: pod.metadata.uid };
      if (pod.spec?.nodeName) claims.node = { name: pod.spec.nodeName };
    }
    const iat = Math.floor(now.getTime() / 1000);
    const lifetime = exp === 3607 && bound ? EXTENDED : exp;
    if (lifetime !== exp) claims.warnafter = iat + exp;
    const audiences: string[] = spec.audiences?.length ? spec.audiences : [this.issuer];
    const payload = {
      aud: audiences,
      exp: iat + lifetime,
      iat,
      iss: this.issuer,
      // The credential id of the user it authenticates (authentication.kubernetes.io/credential-id JTI=…).
      jti: randomUUID(),
      nbf: iat,
      sub: `system:serviceaccount:${ns}:${name}`,
      'kubernetes.io': claims,
    };
    const head = b64url(JSON.stringify({ alg: 'RS256', kid: '' }));
    const body = b64url(JSON.stringify(payload));
    const sig = b64url(sign('sha256', Buffer.from(`${head}.${body}`), this.priv));
    // creationTimestamp and boundObjectRef are null in Kubernetes' answer (Go's zero time and nil pointer).
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace: ns, creationTimestamp: null as never },
      spec: { audiences, expirationSeconds: exp, boundObjectRef: bound ?? null },
      status: { token: `${head}.${body}.${sig}`, expirationTimestamp: formatTime((iat + exp) * 1000) },
    };
  }

  /** NodeRestriction for tokens: a kubelet asks only for tokens bound to a pod bound to its node. */
  private async nodeRestriction(ns: string, name: string, tr: TokenRequest): Promise<void> {
    const user = currentUser();
    const node = user && nodeOf(user);
    if (!node) return;
    const ref = tr.spec?.boundObjectRef;
    let pod: Pod | undefined;
    if (ref?.kind === 'Pod' && ref.name) pod = (await this.rest.get(PODS, ns, ref.name).catch(() => undefined)) as Pod | undefined;
    const why = nodeTokenRequestRefusal(node, tr, pod);
    if (why) throw forbidden('serviceaccounts', '', name, why);
  }

  /** A bearer token that is one of ours, still valid and for the api-server → its user; otherwise undefined. */
  async authenticate(token: string, now = Date.now()): Promise<UserInfo | undefined> {
    return (await this.review(token, [this.issuer], now)).user;
  }

  /**
   * kube-apiserver's service account authenticator for the `audiences` asked for: a token of ours whose audiences
   * intersect them → its user and that intersection; one for other audiences → the error Kubernetes gives; anything
   * else → neither (not ours, expired, or its service account or pod gone or replaced).
   */
  async review(token: string, audiences: string[], now = Date.now()): Promise<TokenReviewResult> {
    const parts = token.split('.');
    if (parts.length !== 3) return {};
    const [head, body, sig] = parts as [string, string, string];
    let payload: unknown;
    try {
      if (!verify('sha256', Buffer.from(`${head}.${body}`), this.pub, Buffer.from(sig, 'base64url'))) return {};
      payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    } catch {
      return {};
    }
    if (!isPlainObject(payload)) return {};
    const k = kubeClaims(payload['kubernetes.io']);
    if (payload.iss !== this.issuer || !k) return {};
    if (typeof payload.exp !== 'number' || payload.exp * 1000 < now) return {};
    const tokenAuds = (Array.isArray(payload.aud) ? payload.aud : [payload.aud]).filter((a): a is string => typeof a === 'string');
    const auds = tokenAuds.filter((a) => audiences.includes(a));
    if (!auds.length) return { error: audienceError(tokenAuds, audiences) };
    try {
      const sa = await this.rest.get(SA, k.namespace, k.serviceaccount.name);
      if (sa.metadata.uid !== k.serviceaccount.uid) return {};
      if (k.pod) {
        const pod = await this.rest.get(PODS, k.namespace, k.pod.name);
        if (pod.metadata.uid !== k.pod.uid || pod.metadata.deletionTimestamp) return {};
      }
    } catch (e) {
      if (isNotFound(e)) return {};
      throw e;
    }
    return { user: userOf(k, str(payload.jti)), audiences: auds };
  }
}

/** Go's %q of a string slice: `["a" "b"]`. */
const goQuoted = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;

/** kube-apiserver's answer for a service account token presented for audiences it does not name. */
export const audienceError = (token: string[], target: string[]) =>
  `[invalid bearer token, token audiences ${goQuoted(token)} is invalid for the target audiences ${goQuoted(target)}]`;

/** A service account token's user as Kubernetes 1.32 makes it: the account's uid, and extra naming the credential, pod and node. */
function userOf(k: KubeClaims, jti: string | undefined): UserInfo {
  const extra: Record<string, string[]> = {};
  if (k.pod?.name && k.pod.uid) {
    extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
    extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
  }
  if (jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${jti}`];
  if (k.node) extra['authentication.kubernetes.io/node-name'] = [k.node.name];
  const user: UserInfo = {
    name: `system:serviceaccount:${k.namespace}:${k.serviceaccount.name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
  };
  if (k.serviceaccount.uid) user.uid = k.serviceaccount.uid;
  if (Object.keys(extra).length) user.extra = extra;
  return user;
}
