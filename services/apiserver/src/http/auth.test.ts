import { describe, expect, it } from 'vitest';
import { parseTokenFile, tokenAuthenticator, type UserInfo } from './auth.js';

describe('token authentication', () => {
  it('static tokens first, then the others; what they accept is remembered for 10 s, what they refuse is not', async () => {
    let t = 0;
    const asked: string[] = [];
    const sa = {
      authenticate: (token: string): Promise<UserInfo | undefined> => {
        asked.push(token);
        return Promise.resolve(token === 'sa' ? { name: 'system:serviceaccount:ns:a', groups: ['system:serviceaccounts'] } : undefined);
      },
    };
    const authn = tokenAuthenticator(parseTokenFile('static,alice,alice,"team"\n'), undefined, sa, () => t);
    expect(await authn('static')).toEqual({ name: 'alice', groups: ['team', 'system:authenticated'] });
    expect((await authn('sa'))?.name).toBe('system:serviceaccount:ns:a');
    t = 9_999;
    await authn('sa');
    expect(asked).toEqual(['sa']);
    t = 10_000;
    await authn('sa');
    expect(await authn('nobody')).toBeUndefined();
    expect(await authn('nobody')).toBeUndefined();
    expect(asked).toEqual(['sa', 'sa', 'nobody', 'nobody']);
  });

  it('reviews: static tokens are good for the api-server audiences only; service account tokens for theirs', async () => {
    const api = 'https://kubernetes.default.svc.cluster.local';
    const sa = {
      issuer: api,
      authenticate: () => Promise.resolve(undefined),
      review: (token: string, audiences: string[]) =>
        Promise.resolve(
          token === 'sa' && audiences.includes('vault')
            ? { user: { name: 'system:serviceaccount:ns:a', groups: [] }, audiences: ['vault'] }
            : { error: 'token audiences ["vault"] is invalid' },
        ),
    };
    const authn = tokenAuthenticator(parseTokenFile('static,alice,alice,"team"\n'), undefined, sa);
    expect(await authn.review!('static')).toMatchObject({ user: { name: 'alice' }, audiences: [api] });
    expect(await authn.review!('static', ['vault', api])).toMatchObject({ audiences: [api] });
    expect(await authn.review!('static', ['vault'])).toEqual({ error: 'invalid bearer token' });
    expect(await authn.review!('sa', ['vault'])).toMatchObject({ user: { name: 'system:serviceaccount:ns:a' }, audiences: ['vault'] });
    expect(await authn.review!('sa')).toEqual({ error: 'token audiences ["vault"] is invalid' });
    expect(await authn.review!('nobody')).toEqual({ error: 'token audiences ["vault"] is invalid' });
  });
});
