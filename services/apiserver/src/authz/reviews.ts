/**
 * The review kinds, answered at once and never stored: access reviews
 * (SelfSubjectAccessReview — `kubectl auth can-i` —, SubjectAccessReview,
 * LocalSubjectAccessReview), SelfSubjectRulesReview (`kubectl auth can-i
 * --list`), TokenReview and SelfSubjectReview (`kubectl auth whoami`). Each
 * answers the object it was sent with its status filled in, as
 * kube-apiserver's REST storage for them does.
 */
import type {
  NonResourceRule,
  ResourceAttributes,
  ResourceRule,
  SubjectAccessReviewSpec,
  SubjectAccessReviewStatus,
} from 'kubernetes-types/authorization/v1.js';
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { badRequest, invalid, invalidError, isPlainObject, required, type KubeObject, type ResourceInfo } from '@kemu/api';
import type { TokenAuthenticator, TokenReviewResult, UserInfo } from '../http/auth.js';
import type { Decision, RequestAttributes } from './rbac.js';

export interface ReviewDeps {
  authorize(user: UserInfo, a: RequestAttributes): Decision;
  rules(user: UserInfo, namespace: string): PolicyRule[];
  /** A TokenReview's finding for a token and the audiences asked for (none: the api-server's own). */
  reviewToken(token: string, audiences: string[] | undefined): Promise<TokenReviewResult>;
}

/** The reviews' view of an api-server: its authorizer and its token authenticators (static tokens, then service accounts'). */
export function reviewDepsOf(
  authorizer: { authorize(user: UserInfo, a: RequestAttributes): Decision; rules(user: UserInfo, namespace?: string): PolicyRule[] },
  authenticateToken: TokenAuthenticator,
): ReviewDeps {
  // An authenticator without audiences (tests' stand-ins) is asked for the user alone.
  const reviewToken = authenticateToken.review ?? (async (token: string) => ({ user: await authenticateToken(token) }) satisfies TokenReviewResult);
  return { authorize: authorizer.authorize.bind(authorizer), rules: authorizer.rules.bind(authorizer), reviewToken };
}

/** authentication/v1 UserInfo of a user: uid and extra only when it has them. */
function userInfo(u: UserInfo): { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> } {
  return { username: u.name, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) };
}

/** authorization/v1 ResourceRule (kubernetes-types' copy lacks its verbs and resources). */
type ReviewResourceRule = ResourceRule & { verbs: string[]; resources?: string[] };

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function attributesOf(kind: string, spec: Record<string, unknown>): RequestAttributes {
  const ra = isPlainObject(spec.resourceAttributes) ? (spec.resourceAttributes as ResourceAttributes) : undefined;
  const nra = isPlainObject(spec.nonResourceAttributes) ? (spec.nonResourceAttributes as { path?: string; verb?: string }) : undefined;
  if (!!ra === !!nra) {
    throw invalidError(kind, 'authorization.k8s.io', '', [
      invalid('spec.resourceAttributes', ra ?? null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified'),
    ]);
  }
  if (nra) return { resourceRequest: false, verb: str(nra.verb), path: str(nra.path) };
  return {
    resourceRequest: true,
    verb: str(ra!.verb),
    apiGroup: str(ra!.group),
    apiVersion: str(ra!.version) || undefined,
    resource: str(ra!.resource),
    subresource: str(ra!.subresource) || undefined,
    namespace: str(ra!.namespace) || undefined,
    name: str(ra!.name) || undefined,
  };
}

function status(d: Decision): SubjectAccessReviewStatus {
  return d.reason ? { allowed: d.allowed, reason: d.reason } : { allowed: d.allowed };
}

/** The review as answered: what was sent, with a fresh metadata and the status. */
const answered = (obj: KubeObject, spec: unknown, st: unknown): KubeObject =>
  ({ kind: obj.kind, apiVersion: obj.apiVersion, metadata: { ...obj.metadata, creationTimestamp: null }, spec, status: st }) as unknown as KubeObject;

function specOf(info: ResourceInfo, obj: KubeObject): Record<string, unknown> {
  const spec = (obj as { spec?: unknown }).spec;
  if (spec === undefined || spec === null) return {};
  if (!isPlainObject(spec)) throw badRequest(`${info.kind}.spec must be an object`);
  return spec;
}

/** Split RBAC rules into the review's resource and non-resource rules. */
function reviewRules(rules: PolicyRule[]): { resourceRules: ReviewResourceRule[]; nonResourceRules: NonResourceRule[] } {
  const resourceRules: ReviewResourceRule[] = [];
  const nonResourceRules: NonResourceRule[] = [];
  for (const r of rules) {
    if (r.nonResourceURLs?.length) nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
    if (r.resources?.length) {
      const rr: ReviewResourceRule = { verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources };
      if (r.resourceNames?.length) rr.resourceNames = r.resourceNames;
      resourceRules.push(rr);
    }
  }
  return { resourceRules, nonResourceRules };
}

export async function answerReview(deps: ReviewDeps, info: ResourceInfo, ns: string | undefined, obj: KubeObject, caller: UserInfo): Promise<KubeObject> {
  const spec = specOf(info, obj);
  switch (info.resource) {
    case 'selfsubjectaccessreviews': {
      const a = attributesOf(info.kind, spec);
      return answered(obj, spec, status(deps.authorize(caller, a)));
    }
    case 'subjectaccessreviews':
    case 'localsubjectaccessreviews': {
      const s = spec as SubjectAccessReviewSpec;
      const a = attributesOf(info.kind, spec);
      if (info.resource === 'localsubjectaccessreviews') {
        if (!a.resourceRequest)
          throw invalidError(info.kind, info.group, '', [
            invalid('spec.nonResourceAttributes', spec.nonResourceAttributes, 'disallowed on this kind of request'),
          ]);
        if (a.namespace && a.namespace !== ns) {
          throw invalidError(info.kind, info.group, '', [invalid('spec.resourceAttributes.namespace', a.namespace, 'must match metadata.namespace')]);
        }
        a.namespace = ns;
      }
      const user = str(s.user);
      const groups = Array.isArray(s.groups) ? s.groups.filter((g): g is string => typeof g === 'string') : [];
      if (!user && !groups.length) throw invalidError(info.kind, info.group, '', [required('spec.user', 'at least one of user or group must be specified')]);
      return answered(obj, spec, status(deps.authorize({ name: user, groups }, a)));
    }
    case 'selfsubjectrulesreviews': {
      const namespace = str(spec.namespace);
      return answered(obj, spec, { ...reviewRules(deps.rules(caller, namespace)), incomplete: false });
    }
    case 'tokenreviews': {
      const token = str(spec.token);
      if (!token) throw invalidError(info.kind, info.group, '', [required('spec.token', '')]);
      const asked = Array.isArray(spec.audiences) ? spec.audiences.filter((a): a is string => typeof a === 'string') : [];
      const found = await deps.reviewToken(token, asked.length ? asked : undefined);
      const st = found.user
        ? { authenticated: true, user: userInfo(found.user), audiences: found.audiences ?? [] }
        : { user: {}, error: found.error ?? 'invalid bearer token' };
      return answered(obj, spec, st);
    }
    case 'selfsubjectreviews':
      return answered(obj, undefined, { userInfo: userInfo(caller) });
  }
  throw badRequest(`${info.resource} is not a review`);
}
