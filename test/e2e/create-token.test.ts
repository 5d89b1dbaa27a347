/**
 * `kubectl create token`: kubectl sends the TokenRequest as protobuf; the
 * token it prints authenticates as the service account on its own, and a
 * token for another audience is good for a TokenReview of that audience only.
 */
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creds, k, kubectl, namespace, parseJson, waitFor } from './helpers.js';

let ns: string;

beforeAll(async () => {
  ns = await namespace('token');
});

afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

/** The claims of a JWT (its middle part). */
const claims = (jwt: string) => parseJson<{ sub: string; aud: string[]; exp: number; iat: number }>(Buffer.from(jwt.split('.')[1], 'base64url').toString());

/** GET `path` with nothing but the bearer token (no client certificate). */
function getWithToken(path: string, token: string): Promise<number> {
  const c = creds();
  return new Promise((resolve, reject) => {
    https
      .get({ host: c.server.hostname, port: c.server.port, path, ca: c.ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

describe('kubectl create token', () => {
  it("prints a token of the namespace's default service account that the api-server accepts", async () => {
    // A fresh namespace's default service account comes from the controller a moment later.
    await k(['wait', '-n', ns, '--for=create', 'serviceaccount/default', '--timeout=30s']);
    const token = (await k(['create', 'token', 'default', '-n', ns])).trim();
    expect(claims(token).sub).toBe(`system:serviceaccount:${ns}:default`);
    // Authenticated as the service account: RBAC lets it discover the API, and nothing else until a binding says so.
    expect(await getWithToken('/api', token)).toBe(200);
    expect(await getWithToken(`/api/v1/namespaces/${ns}/serviceaccounts`, token)).toBe(403);
    await k(['create', 'rolebinding', 'default-view', '--clusterrole=view', `--serviceaccount=${ns}:default`, '-n', ns]);
    await waitFor('the binding to take effect', async () => (await getWithToken(`/api/v1/namespaces/${ns}/serviceaccounts`, token)) === 200, 10_000);
    expect(await getWithToken(`/api/v1/namespaces/${ns}/serviceaccounts`, `${token}x`)).toBe(401);
  });

  it('takes --duration and --audience, and says when the service account does not exist', async () => {
    const token = (await k(['create', 'token', 'default', '-n', ns, '--duration=10m', '--audience=vault.example'])).trim();
    const c = claims(token);
    expect(c.exp - c.iat).toBe(600);
    expect(c.aud).toEqual(['vault.example']);
    // Not for the api-server itself.
    expect(await getWithToken('/api', token)).toBe(401);
    const missing = await kubectl(['create', 'token', 'nobody', '-n', ns]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain('serviceaccounts "nobody" not found');
  });

  it('a TokenReview authenticates an audience-bound token for its audience only, with uid and extra', async () => {
    const token = (await k(['create', 'token', 'default', '-n', ns, '--audience=vault.example'])).trim();
    const jti = parseJson<{ jti: string }>(Buffer.from(token.split('.')[1], 'base64url').toString()).jti;
    const uid = (await k(['get', 'serviceaccount', 'default', '-n', ns, '-o', 'jsonpath={.metadata.uid}'])).trim();
    type Review = {
      status: {
        authenticated?: boolean;
        error?: string;
        audiences?: string[];
        user: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
      };
    };
    const review = async (audiences?: string[]) => {
      const tr = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } };
      return parseJson<Review>(await k(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(tr) }));
    };
    const ok = (await review(['vault.example', 'elsewhere.example'])).status;
    expect(ok.authenticated).toBe(true);
    expect(ok.audiences).toEqual(['vault.example']);
    expect(ok.user.username).toBe(`system:serviceaccount:${ns}:default`);
    expect(ok.user.uid).toBe(uid);
    expect(ok.user.extra?.['authentication.kubernetes.io/credential-id']).toEqual([`JTI=${jti}`]);
    const other = (await review(['elsewhere.example'])).status;
    expect(other.authenticated).toBeUndefined();
    expect(other.error).toContain('token audiences ["vault.example"] is invalid for the target audiences ["elsewhere.example"]');
    // No audiences asked: the api-server's own, which the token does not name.
    const own = (await review()).status;
    expect(own.authenticated).toBeUndefined();
    expect(own.error).toContain('is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]');
  });
});
