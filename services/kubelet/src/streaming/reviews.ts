/**
 * The kubelet API's reviews, sent to the api-server through the kubelet's
 * gRPC client as the kubelet's webhook authenticator and authorizer send
 * them: a TokenReview with the token alone (no audiences: the api-server's
 * own), and a SubjectAccessReview of nodes/<subresource> with the caller's
 * user, uid, groups and extra.
 */
import type { KubeObject } from '@kemu/api';
import type { ApiClient } from '@kemu/client';
import type { TokenReview } from 'kubernetes-types/authentication/v1.js';
import type { SubjectAccessReview } from 'kubernetes-types/authorization/v1.js';
import type { NodeAttributes, Reviews, UserInfo } from './auth.js';

const TOKEN_REVIEWS = { group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews' };
const ACCESS_REVIEWS = { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews' };

const toApi = (o: TokenReview | SubjectAccessReview): KubeObject => o as unknown as KubeObject;

/** The review as sent: what a TokenReview asks. */
export function tokenReviewOf(token: string): TokenReview {
  return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token } };
}

/** The user a TokenReview's answer names, or undefined when it is not authenticated. */
export function userOfTokenReview(r: TokenReview): UserInfo | undefined {
  const s = r.status;
  if (!s?.authenticated || !s.user?.username) return undefined;
  return {
    name: s.user.username,
    ...(s.user.uid ? { uid: s.user.uid } : {}),
    groups: s.user.groups ?? [],
    ...(s.user.extra ? { extra: s.user.extra } : {}),
  };
}

/** The review as sent: what a SubjectAccessReview asks about nodes/<subresource>. */
export function accessReviewOf(a: NodeAttributes): SubjectAccessReview {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    metadata: {},
    spec: {
      resourceAttributes: { verb: a.verb, group: '', version: 'v1', resource: a.resource, subresource: a.subresource, name: a.name },
      user: a.user.name,
      ...(a.user.uid ? { uid: a.user.uid } : {}),
      groups: a.user.groups,
      ...(a.user.extra ? { extra: a.user.extra } : {}),
    },
  };
}

/** Reviews answered by the api-server (an error rejects: the caller neither caches nor allows it). */
export function apiReviews(client: Pick<ApiClient, 'create'>): Reviews {
  return {
    tokenReview: async (token) => userOfTokenReview((await client.create(TOKEN_REVIEWS, toApi(tokenReviewOf(token)))) as unknown as TokenReview),
    subjectAccessReview: async (a) =>
      ((await client.create(ACCESS_REVIEWS, toApi(accessReviewOf(a)))) as unknown as SubjectAccessReview).status?.allowed === true,
  };
}
