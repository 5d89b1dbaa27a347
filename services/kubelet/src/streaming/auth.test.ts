import { describe, expect, it } from 'vitest';
import {
  apiVerb,
  bearerToken,
  CACHE_TTL_MS,
  forbiddenMessage,
  KUBEADM_AUTH,
  KubeletAuth,
  requestAttributes,
  subresourcesOf,
  type KubeletAuthConfig,
  type NodeAttributes,
  type Reviews,
  type UserInfo,
} from './auth.js';

describe('apiVerb', () => {
  it.each([
    ['GET', 'get'],
    ['HEAD', 'get'],
    ['POST', 'create'],
    ['PUT', 'update'],
    ['PATCH', 'patch'],
    ['DELETE', 'delete'],
    ['OPTIONS', ''],
  ])('%s is %s', (m, v) => expect(apiVerb(m)).toBe(v));
});

describe('subresourcesOf (the kubelet’s GetRequestAttributes, fine-grained)', () => {
  it.each<[string, string[]]>([
    ['/pods', ['pods', 'proxy']],
    ['/pods/', ['pods', 'proxy']],
    ['/runningPods/', ['pods', 'proxy']],
    ['/healthz', ['healthz', 'proxy']],
    ['/healthz/ping', ['healthz', 'proxy']],
    ['/configz', ['configz', 'proxy']],
    ['/stats/summary', ['stats']],
    ['/stats', ['stats']],
    ['/metrics/cadvisor', ['metrics']],
    ['/logs/syslog', ['log']],
    ['/spec/', ['spec']],
    ['/checkpoint/ns/pod/c', ['checkpoint']],
    ['/containerLogs/ns/pod/c', ['proxy']],
    ['/exec/ns/pod/c', ['proxy']],
    ['/attach/ns/pod/c', ['proxy']],
    ['/portForward/ns/pod', ['proxy']],
    ['/run/ns/pod/c', ['proxy']],
    ['/proxy/ns/pod/80/', ['proxy']],
    // A prefix is not a subpath.
    ['/podsx', ['proxy']],
    ['/statsfoo', ['proxy']],
    ['/', ['proxy']],
  ])('%s', (path, want) => expect(subresourcesOf(path)).toEqual(want));
});

describe('bearerToken', () => {
  it.each<[string | undefined, string | undefined]>([
    ['Bearer abc.def', 'abc.def'],
    ['bearer abc', 'abc'],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('%s', (h, want) => expect(bearerToken(h)).toBe(want));
});

describe('forbiddenMessage', () => {
  it('is the kubelet’s: the first attributes, every subresource tried, and a newline', () => {
    const u: UserInfo = { name: 'system:serviceaccount:default:default', groups: [] };
    expect(forbiddenMessage(requestAttributes(u, 'GET', '/pods', 'node-1'))).toBe(
      'Forbidden (user=system:serviceaccount:default:default, verb=get, resource=nodes, subresource(s)=[pods proxy])\n',
    );
    expect(forbiddenMessage(requestAttributes(u, 'POST', '/exec/ns/p/c', 'node-1'))).toBe(
      'Forbidden (user=system:serviceaccount:default:default, verb=create, resource=nodes, subresource(s)=[proxy])\n',
    );
  });
});

/** Reviews answered from tables, counting the calls (what the caches save). */
function fakeReviews(tokens: Record<string, UserInfo>, allow: (a: NodeAttributes) => boolean) {
  const calls = { token: 0, access: [] as string[] };
  const reviews: Reviews = {
    tokenReview: (t) => {
      calls.token++;
      return t === 'broken' ? Promise.reject(new Error('api-server unavailable')) : Promise.resolve(tokens[t]);
    },
    subjectAccessReview: (a) => {
      calls.access.push(`${a.user.name} ${a.verb} nodes/${a.subresource} ${a.name}`);
      return a.user.name === 'broken' ? Promise.reject(new Error('api-server unavailable')) : Promise.resolve(allow(a));
    },
  };
  return { reviews, calls };
}

const SA: UserInfo = { name: 'system:serviceaccount:ns:reader', uid: 'u1', groups: ['system:serviceaccounts', 'system:authenticated'] };
const APISERVER_CERT = { verified: true, commonName: 'kube-apiserver-kubelet-client', organizations: ['kubeadm:cluster-admins'] };

describe('KubeletAuth', () => {
  const setup = (config: KubeletAuthConfig = KUBEADM_AUTH, allow: (a: NodeAttributes) => boolean = () => false) => {
    let now = 0;
    const f = fakeReviews({ good: SA }, allow);
    const auth = new KubeletAuth(config, 'node-1', f.reviews, () => now);
    return { auth, calls: f.calls, advance: (ms: number) => (now += ms) };
  };

  it('refuses a request without credentials with 401 Unauthorized (anonymous off, as kubeadm sets it)', async () => {
    const { auth, calls } = setup();
    expect(await auth.check('GET', '/pods', {})).toEqual({ allowed: false, code: 401, message: 'Unauthorized' });
    expect(calls.access).toEqual([]);
  });

  it('with --anonymous-auth=true, authorizes the request as system:anonymous', async () => {
    const { auth, calls } = setup({ ...KUBEADM_AUTH, anonymous: true });
    expect(await auth.check('GET', '/healthz', {})).toMatchObject({ allowed: false, code: 403 });
    expect(calls.access).toEqual(['system:anonymous get nodes/healthz node-1', 'system:anonymous get nodes/proxy node-1']);
  });

  it('authenticates a verified client certificate as CN and O, in system:authenticated', async () => {
    const { auth, calls } = setup(KUBEADM_AUTH, (a) => a.user.groups.includes('kubeadm:cluster-admins'));
    const d = await auth.check('POST', '/exec/ns/p/c', { certificate: APISERVER_CERT });
    expect(d).toEqual({
      allowed: true,
      user: { name: 'kube-apiserver-kubelet-client', groups: ['kubeadm:cluster-admins', 'system:authenticated'] },
    });
    expect(calls).toEqual({ token: 0, access: ['kube-apiserver-kubelet-client create nodes/proxy node-1'] });
  });

  it('refuses a certificate the CA did not verify with 401, even when anonymous requests are allowed', async () => {
    const { auth } = setup({ ...KUBEADM_AUTH, anonymous: true }, () => true);
    expect(await auth.check('GET', '/pods', { certificate: { ...APISERVER_CERT, verified: false } })).toMatchObject({ allowed: false, code: 401 });
  });

  it('authenticates a bearer token with a TokenReview and authorizes its user', async () => {
    const { auth, calls } = setup(KUBEADM_AUTH, (a) => a.subresource === 'proxy');
    expect(await auth.check('GET', '/pods', { authorization: 'Bearer good' })).toEqual({ allowed: true, user: SA });
    // nodes/pods first (denied), then nodes/proxy.
    expect(calls.access).toEqual([`${SA.name} get nodes/pods node-1`, `${SA.name} get nodes/proxy node-1`]);
  });

  it('answers 403 with the kubelet’s message when no subresource is allowed', async () => {
    const { auth } = setup();
    expect(await auth.check('GET', '/pods', { authorization: 'Bearer good' })).toEqual({
      allowed: false,
      code: 403,
      message: `Forbidden (user=${SA.name}, verb=get, resource=nodes, subresource(s)=[pods proxy])\n`,
    });
  });

  it('refuses an unknown token, and ignores tokens when the token webhook is off', async () => {
    expect(await setup().auth.check('GET', '/pods', { authorization: 'Bearer nope' })).toMatchObject({ code: 401 });
    const off = setup({ ...KUBEADM_AUTH, tokenWebhook: false }, () => true);
    expect(await off.auth.check('GET', '/pods', { authorization: 'Bearer good' })).toMatchObject({ code: 401 });
    expect(off.calls.token).toBe(0);
  });

  it('caches token reviews for 2 minutes, authenticated or not; a failed review is not cached', async () => {
    const { auth, calls, advance } = setup(KUBEADM_AUTH, () => true);
    await auth.check('GET', '/pods', { authorization: 'Bearer good' });
    await auth.check('GET', '/pods', { authorization: 'Bearer nope' });
    advance(CACHE_TTL_MS.token - 1);
    await auth.check('GET', '/pods', { authorization: 'Bearer good' });
    await auth.check('GET', '/pods', { authorization: 'Bearer nope' });
    expect(calls.token).toBe(2);
    advance(1);
    await auth.check('GET', '/pods', { authorization: 'Bearer good' });
    expect(calls.token).toBe(3);
    expect(await auth.check('GET', '/pods', { authorization: 'Bearer broken' })).toMatchObject({ code: 401 });
    await auth.check('GET', '/pods', { authorization: 'Bearer broken' });
    expect(calls.token).toBe(5);
  });

  it('caches an allowed decision for 5 minutes and a denied one for 30 seconds', async () => {
    let allowed = false;
    const { auth, calls, advance } = setup(KUBEADM_AUTH, () => allowed);
    const get = () => auth.check('GET', '/exec/ns/p/c', { authorization: 'Bearer good' });
    expect(await get()).toMatchObject({ code: 403 });
    allowed = true; // a binding made now is seen once the denial expires
    advance(CACHE_TTL_MS.denied - 1);
    expect(await get()).toMatchObject({ code: 403 });
    advance(1);
    expect(await get()).toMatchObject({ allowed: true });
    allowed = false; // and a binding removed, once the allowance expires
    advance(CACHE_TTL_MS.allowed - 1);
    expect(await get()).toMatchObject({ allowed: true });
    advance(1);
    expect(await get()).toMatchObject({ code: 403 });
    expect(calls.access).toHaveLength(3);
  });

  it('caches per user, verb and subresource', async () => {
    const { auth, calls } = setup(KUBEADM_AUTH, () => true);
    await auth.check('GET', '/exec/a', { authorization: 'Bearer good' });
    await auth.check('GET', '/attach/b', { authorization: 'Bearer good' }); // same question: nodes/proxy get
    await auth.check('POST', '/exec/a', { authorization: 'Bearer good' });
    await auth.check('GET', '/stats/summary', { authorization: 'Bearer good' });
    await auth.check('GET', '/stats/summary', { certificate: APISERVER_CERT });
    expect(calls.access).toHaveLength(4);
  });

  it('answers 500 with the kubelet’s message when a SubjectAccessReview cannot be made', async () => {
    const { auth } = setup();
    expect(await auth.check('GET', '/pods', { certificate: { verified: true, commonName: 'broken', organizations: [] } })).toEqual({
      allowed: false,
      code: 500,
      message: 'Authorization error (user=broken, verb=get, resource=nodes, subresource=pods)',
    });
  });

  it('allows everything authenticated with --authorization-mode=AlwaysAllow, and still refuses the unauthenticated', async () => {
    const { auth, calls } = setup({ ...KUBEADM_AUTH, authorizationMode: 'AlwaysAllow' });
    expect(await auth.check('GET', '/pods', { authorization: 'Bearer good' })).toMatchObject({ allowed: true });
    expect(await auth.check('GET', '/pods', {})).toMatchObject({ code: 401 });
    expect(calls.access).toEqual([]);
  });
});
