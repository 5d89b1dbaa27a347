import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { makeCA, newKey, signCert } from '@kemu/client/pki';
import { authenticateRequest, parseTokenFile, presentedBadCertificate, tokenAuthenticator, type UserInfo } from './auth.js';

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

describe('client certificates over REST', () => {
  it('only a certificate the CA signed for client authentication names the user; any other is no credential', async () => {
    const ca = makeCA(await newKey());
    const [srvKey, goodKey, serverOnlyKey, foreignKey, otherCaKey] = await Promise.all([newKey(), newKey(), newKey(), newKey(), newKey()]);
    const other = makeCA(otherCaKey, 'other');
    const srv = signCert(ca, { commonName: 'api', ips: ['127.0.0.1'], server: true }, srvKey);
    const authn = tokenAuthenticator(parseTokenFile('tok,bob,bob\n'));
    // As kube-apiserver's TLS: a certificate is asked for, not required; the authenticator judges it.
    const server = https.createServer({ cert: srv.cert, key: srv.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      // "!": a certificate was presented and refused (a 401 even where anonymous requests are let in).
      void authenticateRequest(req, authn).then((u) => res.end(`${u?.name ?? '-'}${presentedBadCertificate(req) ? '!' : ''}`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const who = (c: { cert: string; key: string }, token?: string) =>
      new Promise<string>((resolve, reject) => {
        const headers = token ? { Authorization: `Bearer ${token}` } : {};
        https
          .get({ host: '127.0.0.1', port, path: '/', ca: ca.cert, cert: c.cert, key: c.key, headers }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += String(d)));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    try {
      expect(await who(signCert(ca, { commonName: 'alice', client: true }, goodKey))).toBe('alice');
      // Node's TLS checks the purpose (clientAuth extended key usage) and the issuer, as Go's x509 verification does.
      expect(await who(signCert(ca, { commonName: 'mallory', server: true }, serverOnlyKey))).toBe('-!');
      expect(await who(signCert(other, { commonName: 'eve', client: true }, foreignKey))).toBe('-!');
      expect(await who(signCert(other, { commonName: 'eve', client: true }, foreignKey), 'tok')).toBe('bob!');
    } finally {
      server.close();
    }
  });
});
