import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@kemu/api';
import type { ResourceId } from '@kemu/client';
import type { SubjectAccessReview } from 'kubernetes-types/authorization/v1.js';
import { accessReviewOf, apiReviews, tokenReviewOf, userOfTokenReview } from './reviews.js';
import type { NodeAttributes } from './auth.js';

const A: NodeAttributes = {
  user: { name: 'jane', uid: 'u-1', groups: ['dev', 'system:authenticated'], extra: { scopes: ['a'] } },
  verb: 'get',
  resource: 'nodes',
  subresource: 'pods',
  name: 'node-1',
};

describe('the reviews sent', () => {
  it('a TokenReview carries the token alone', () => {
    expect(tokenReviewOf('t0k')).toEqual({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token: 't0k' } });
  });

  it('a SubjectAccessReview asks about nodes/<subresource> of this node for the whole user', () => {
    expect(accessReviewOf(A)).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {},
      spec: {
        resourceAttributes: { verb: 'get', group: '', version: 'v1', resource: 'nodes', subresource: 'pods', name: 'node-1' },
        user: 'jane',
        uid: 'u-1',
        groups: ['dev', 'system:authenticated'],
        extra: { scopes: ['a'] },
      },
    });
  });
});

describe('userOfTokenReview', () => {
  it('is the authenticated user, or nothing', () => {
    expect(userOfTokenReview({ spec: {}, status: { authenticated: true, user: { username: 'sa', uid: 'x', groups: ['g'] } } })).toEqual({
      name: 'sa',
      uid: 'x',
      groups: ['g'],
    });
    expect(userOfTokenReview({ spec: {}, status: { user: {}, error: 'invalid bearer token' } })).toBeUndefined();
    expect(userOfTokenReview({ spec: {} })).toBeUndefined();
  });
});

describe('apiReviews', () => {
  it('creates the reviews in their groups and reads the answers', async () => {
    const sent: [ResourceId, KubeObject][] = [];
    const client = {
      create: (r: ResourceId, obj: KubeObject): Promise<KubeObject> => {
        sent.push([r, obj]);
        const sar = obj as unknown as SubjectAccessReview;
        return Promise.resolve(
          r.resource === 'tokenreviews'
            ? { ...obj, status: { authenticated: true, user: { username: 'sa', groups: ['g'] } } }
            : { ...obj, status: { allowed: sar.spec.resourceAttributes?.subresource === 'proxy' } },
        );
      },
    };
    const reviews = apiReviews(client);
    expect(await reviews.tokenReview('t')).toEqual({ name: 'sa', groups: ['g'] });
    expect(await reviews.subjectAccessReview(A)).toBe(false);
    expect(await reviews.subjectAccessReview({ ...A, subresource: 'proxy' })).toBe(true);
    expect(sent.map(([r]) => `${r.group}/${r.version}/${r.resource}`)).toEqual([
      'authentication.k8s.io/v1/tokenreviews',
      'authorization.k8s.io/v1/subjectaccessreviews',
      'authorization.k8s.io/v1/subjectaccessreviews',
    ]);
  });

  it('rejects when the api-server cannot answer (the caller caches nothing)', async () => {
    const reviews = apiReviews({ create: () => Promise.reject(new Error('unavailable')) });
    await expect(reviews.subjectAccessReview(A)).rejects.toThrow('unavailable');
  });
});
