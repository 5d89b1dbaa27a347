import { describe, expect, it } from 'vitest';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { bootstrapTokenUser, parseBootstrapToken } from './bootstrap-tokens.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>, type = 'bootstrap.kubernetes.io/token'): Secret => ({
  metadata: { name: 'bootstrap-token-abcdef', namespace: 'kube-system' },
  type,
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});
const good = { 'token-id': 'abcdef', 'token-secret': '0123456789abcdef', 'usage-bootstrap-authentication': 'true' };

describe('bootstrap tokens', () => {
  it('parse only [a-z0-9]{6}.[a-z0-9]{16}', () => {
    expect(parseBootstrapToken('abcdef.0123456789abcdef')).toEqual({ id: 'abcdef', secret: '0123456789abcdef' });
    expect(parseBootstrapToken('ABCDEF.0123456789abcdef')).toBeUndefined();
    expect(parseBootstrapToken('abcdef.012345')).toBeUndefined();
  });

  it('authenticate as system:bootstrap:<id> with the extra groups their Secret gives', () => {
    const s = secret({ ...good, 'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token' });
    expect(bootstrapTokenUser('abcdef.0123456789abcdef', s)).toEqual({
      name: 'system:bootstrap:abcdef',
      groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', 'system:authenticated'],
    });
    // One group outside system:bootstrappers:* spoils the token.
    expect(bootstrapTokenUser('abcdef.0123456789abcdef', secret({ ...good, 'auth-extra-groups': 'system:bootstrappers:a,system:masters' }))).toBeUndefined();
  });

  it('refuse a wrong secret, a missing usage, an expired token and a Secret of another type', () => {
    expect(bootstrapTokenUser('abcdef.0123456789abcdeX', secret(good))).toBeUndefined();
    expect(bootstrapTokenUser('abcdef.0123456789abcdef', secret({ ...good, 'usage-bootstrap-authentication': 'false' }))).toBeUndefined();
    expect(bootstrapTokenUser('abcdef.0123456789abcdef', secret({ ...good, expiration: '2020-01-01T00:00:00Z' }))).toBeUndefined();
    expect(bootstrapTokenUser('abcdef.0123456789abcdef', secret({ ...good, expiration: '2999-01-01T00:00:00Z' }))?.name).toBe('system:bootstrap:abcdef');
    expect(bootstrapTokenUser('abcdef.0123456789abcdef', secret({ ...good, expiration: 'Jan 1 2999' }))).toBeUndefined();
    expect(bootstrapTokenUser('abcdef.0123456789abcdef', secret(good, 'Opaque'))).toBeUndefined();
    expect(bootstrapTokenUser('abcdef.0123456789abcdef', undefined)).toBeUndefined();
  });
});
