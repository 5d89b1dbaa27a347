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
});
