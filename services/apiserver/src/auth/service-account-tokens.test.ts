import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { notFound, type KubeObject } from '@kemu/api';
import type { RestStore } from '../registry/rest.js';
import { ServiceAccountTokens } from './service-account-tokens.js';

const objects = new Map<string, KubeObject>([
  ['serviceaccounts/ns/default', { metadata: { name: 'default', namespace: 'ns', uid: 'sa-uid' } }],
  ['pods/ns/web', { metadata: { name: 'web', namespace: 'ns', uid: 'pod-uid' }, spec: { serviceAccountName: 'default', nodeName: 'node-1' } }],
]);
const rest = {
  get: (info: { resource: string }, ns: string, name: string): Promise<KubeObject> => {
    const o = objects.get(`${info.resource}/${ns}/${name}`);
    return o ? Promise.resolve(o) : Promise.reject(notFound(info.resource, '', name));
  },
} as unknown as RestStore;
const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' });
const tokens = new ServiceAccountTokens(key, 'https://kubernetes.default.svc.cluster.local', rest);
const request = (spec: object) => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec }) as unknown as KubeObject;

describe('service account tokens', () => {
  it('issues a bound JWT with Kubernetes claims that authenticates as the service account', async () => {
    const now = new Date('2026-11-23T10:00:00Z');
    const tr = await tokens.issue(
      'ns',
      'default',
      request({ expirationSeconds: 3607, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: 'pod-uid' } }),
      now,
    );
    const claims = JSON.parse(Buffer.from(tr.status.token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number; iat: number; jti: string };
    expect(claims).toMatchObject({
      sub: 'system:serviceaccount:ns:default',
      iss: 'https://kubernetes.default.svc.cluster.local',
      'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'default', uid: 'sa-uid' }, pod: { name: 'web', uid: 'pod-uid' }, node: { name: 'node-1' } },
    });
    expect(claims.exp - claims.iat).toBe(365 * 24 * 3600); // extended, as kube-apiserver does for kube-api-access
    expect(tr.status.expirationTimestamp).toBe('2026-11-23T11:00:07Z');
    expect(await tokens.authenticate(tr.status.token, now.getTime())).toEqual({
      name: 'system:serviceaccount:ns:default',
      uid: 'sa-uid',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ns', 'system:authenticated'],
      extra: {
        'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`],
        'authentication.kubernetes.io/pod-name': ['web'],
        'authentication.kubernetes.io/pod-uid': ['pod-uid'],
        'authentication.kubernetes.io/node-name': ['node-1'],
      },
    });
  });

  it('is good for the audiences it names: the review answers their intersection, or why not', async () => {
    const vault = (await tokens.issue('ns', 'default', request({ audiences: ['vault.example', 'other'] }))).status.token;
    const r = await tokens.review(vault, ['vault.example', 'third']);
    expect(r.audiences).toEqual(['vault.example']);
    expect(r.user).toMatchObject({ name: 'system:serviceaccount:ns:default', uid: 'sa-uid' });
    expect(r.user?.extra?.['authentication.kubernetes.io/credential-id']?.[0]).toMatch(/^JTI=[0-9a-f-]{36}$/);
    expect(await tokens.review(vault, ['https://kubernetes.default.svc.cluster.local'])).toEqual({
      error:
        '[invalid bearer token, token audiences ["vault.example" "other"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]]',
    });
    expect(await tokens.review('a.b.c', ['vault.example'])).toEqual({});
  });

  it('refuses tampered, expired, foreign-audience tokens and tokens whose pod is gone', async () => {
    const now = Date.now();
    const plain = (await tokens.issue('ns', 'default', request({ expirationSeconds: 600 }))).status.token;
    expect(await tokens.authenticate(plain, now)).toBeDefined();
    // A changed character well inside the signature: the last one's low bits are padding that decoders ignore, so
    // rewriting the tail could leave the signature's bytes as they were.
    const i = plain.length - 10;
    const tampered = plain.slice(0, i) + (plain[i] === 'A' ? 'B' : 'A') + plain.slice(i + 1);
    expect(await tokens.authenticate(tampered, now)).toBeUndefined();
    expect(await tokens.authenticate(plain, now + 601_000)).toBeUndefined();
    const other = (await tokens.issue('ns', 'default', request({ audiences: ['vault'] }))).status.token;
    expect(await tokens.authenticate(other, now)).toBeUndefined();
    const bound = (await tokens.issue('ns', 'default', request({ boundObjectRef: { kind: 'Pod', name: 'web' } }))).status.token;
    objects.delete('pods/ns/web');
    expect(await tokens.authenticate(bound, now)).toBeUndefined();
    await expect(tokens.issue('ns', 'default', request({ expirationSeconds: 60 }))).rejects.toThrow('may not specify a duration less than 10 minutes');
  });
});
