/**
 * The rendered configuration in Debian's real nginx, on loopback: every
 * golden file passes `nginx -t`, and nginx serving a rendered configuration
 * routes by host and path as the Ingress specification says, rewrites,
 * answers 404 and 503, sets the X-Forwarded headers, terminates TLS with the
 * certificate SNI names, passes WebSocket upgrades, retries a dead pod, and
 * reloads on change while a configuration nginx refuses leaves out only the
 * Ingress that made it. Pods are HTTP servers on 127.0.0.1 (testing/echo.ts).
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ConfigApplier, ConfigTestError } from './applier.js';
import type { ClusterState } from './config/model.js';
import { render, type RenderOptions } from './config/render.js';
import { CASES } from './testing/cases.js';
import { ensureFakeCertificate, Nginx } from './nginx.js';
import { echoBackend, freePort, get, upgradeEcho, type Backend } from './testing/echo.js';
import { cluster, ingress, OPTIONS, path, rule, service, tlsSecret } from './testing/objects.js';

const log = pino({ level: 'silent' });
let dir: string;
let opts: RenderOptions;
let nginx: Nginx;
let applier: ConfigApplier;
let httpPort: number;
let httpsPort: number;
const pods: Record<string, Backend> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kemu-ingress-'));
  chmodSync(dir, 0o755); // nginx's workers (an unprivileged user under root) reach temp/ through it
  [httpPort, httpsPort] = [await freePort(), await freePort()];
  opts = {
    ...OPTIONS,
    confDir: dir,
    httpListen: `127.0.0.1:${httpPort}`,
    httpsListen: `127.0.0.1:${httpsPort}`,
    defaultCertificate: `${dir}/ssl/default-fake-certificate.pem`,
    workerProcesses: '1',
    accessLog: false,
  };
  for (const name of ['service1', 'service2', 'service3', 'http-svc', 'web', 'prefix', 'exact', 'impl', 'wild', 'live']) pods[name] = await echoBackend(name);
  nginx = new Nginx({ confDir: dir, log });
  await ensureFakeCertificate(opts.defaultCertificate);
  applier = new ConfigApplier(nginx, opts, log);
});

afterAll(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(pods).map((p) => p.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A Service whose one ready endpoint is the stand-in pod of the same name. */
const svc = (name: string, port: number | number[] = 80) => service(name, ['127.0.0.1'], { port, targetPort: pods[name].port });

/** Every example at once, with loopback pods. */
function examples(): ClusterState {
  return cluster({
    ingresses: [
      ...CASES['simple-fanout']().ingresses,
      ingress('vhosts', { rules: [rule('bar.foo.com', path('/', 'service2'))] }),
      ...CASES.tls().ingresses,
      ...CASES.rewrite().ingresses,
      ...CASES['path-types']().ingresses,
      ingress('empty', { rules: [rule('empty.example', path('/', 'empty'))] }),
      ingress('retry', { rules: [rule('retry.example', path('/', 'retry'))] }),
    ],
    backends: [
      svc('service1', [80, 4200]),
      svc('service2', [80, 8080]),
      ...['http-svc', 'web', 'prefix', 'exact', 'impl', 'wild'].map((n) => svc(n)),
      service('empty', [], { notReady: ['127.0.0.1'] }),
      retryBackend(),
    ],
    secrets: [tlsSecret('testsecret-tls')],
  });
}

/** A Service with a dead pod first and a live one (two slices: their ports differ). */
function retryBackend() {
  const b = service('retry', []);
  const slice = (name: string, port: number): EndpointSlice => ({
    ...b.slice,
    metadata: { ...b.slice.metadata, name },
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
  });
  return { service: b.service, slice: slice('retry-a', 1), slices: [slice('retry-b', pods.live.port)] };
}

const withRetrySlices = (s: ClusterState): ClusterState => ({ ...s, slices: [...s.slices, ...retryBackend().slices] });

describe('the golden configurations', () => {
  for (const [name, state] of Object.entries(CASES)) {
    it(`${name} passes nginx -t`, async () => {
      const r = render(state(), { ...opts, accessLog: true });
      for (const f of r.files) writeFileSync(f.path, f.content);
      expect(await nginx.test(r.config)).toEqual({ ok: true });
    });
  }
});

describe('the ConfigMap settings', () => {
  it('every key set away from its default passes nginx -t', async () => {
    const data = {
      'proxy-body-size': '2k',
      'proxy-connect-timeout': '3',
      'proxy-read-timeout': '120',
      'proxy-send-timeout': '30',
      'proxy-buffering': 'on',
      'ssl-redirect': 'false',
      'use-forwarded-headers': 'true',
      'enable-underscores-in-headers': 'true',
      'server-tokens': 'true',
      'keep-alive': '10',
      'keep-alive-requests': '50',
      'proxy-next-upstream-tries': '1',
      'disable-access-log': 'true',
      'worker-processes': '1',
    };
    const r = render({ ...examples(), configMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data } }, opts);
    expect(r.settings.unknown).toEqual([]);
    expect(r.settings.invalid).toEqual([]);
    for (const f of r.files) writeFileSync(f.path, f.content);
    expect(await nginx.test(r.config)).toEqual({ ok: true });
  });
});

describe('nginx serving the rendered configuration', () => {
  beforeAll(async () => {
    const applied = await applier.apply(withRetrySlices(examples()));
    expect(applied.rendered.problems).toEqual([]);
    expect(applied.reloaded).toBe(true);
  });

  /** What answered `host` `path`: the stand-in pod's name (and the URI it got, with `uri`), or nginx's status. */
  const answer = async (host: string, p: string, uri = false) => {
    const r = await get(httpPort, host, p);
    return r.echo ? (uri ? `${r.echo.name} ${r.echo.url}` : r.echo.name) : r.status;
  };
  const expectAnswers = async (table: [string, string, string | number][], uri = false) => {
    for (const [host, p, want] of table) expect(await answer(host, p, uri), `${host}${p}`).toBe(want);
  };

  it('routes by host, and by path element-wise for Prefix', async () => {
    await expectAnswers(
      [
        ['foo.bar.com', '/foo', 'service1 /foo'],
        ['foo.bar.com', '/foo/', 'service1 /foo/'],
        ['foo.bar.com', '/foo/x?y=1', 'service1 /foo/x?y=1'],
        ['foo.bar.com', '/bar/baz', 'service2 /bar/baz'],
        ['foo.bar.com', '/foobar', 404],
        ['FOO.bar.com', '/foo', 'service1 /foo'],
        ['bar.foo.com', '/anything', 'service2 /anything'],
        ['unknown.example', '/foo', 404],
      ],
      true,
    );
  });

  it('Exact wins at its path, Prefix below it; ImplementationSpecific is a Prefix; a wildcard matches one label', async () => {
    await expectAnswers([
      ['paths.example', '/foo', 'exact'],
      ['paths.example', '/foo/', 'prefix'],
      ['paths.example', '/foo/bar', 'prefix'],
      ['paths.example', '/impl/x', 'impl'],
      ['paths.example', '/implx', 404],
      ['a.wild.example', '/', 'wild'],
      ['a.b.wild.example', '/', 404],
      ['wild.example', '/', 404],
    ]);
  });

  it('rewrites with capture groups, and the older annotation strips the prefix', async () => {
    expect((await get(httpPort, 'rewrite.bar.com', '/something/new?q=1')).echo?.url).toBe('/new?q=1');
    expect((await get(httpPort, 'rewrite.bar.com', '/something')).echo?.url).toBe('/');
    expect((await get(httpPort, 'rewrite.bar.com', '/other')).status).toBe(404);
    expect((await get(httpPort, 'old.bar.com', '/app/x/y')).echo).toMatchObject({ name: 'http-svc', url: '/x/y' });
    expect((await get(httpPort, 'old.bar.com', '/app')).echo).toMatchObject({ name: 'http-svc', url: '/' });
    expect((await get(httpPort, 'old.bar.com', '/else')).echo).toMatchObject({ name: 'web', url: '/else' });
  });

  it('answers 503 for a Service without ready endpoints', async () => {
    const r = await get(httpPort, 'empty.example', '/');
    expect(r.status).toBe(503);
    expect(r.body).toContain('503 Service Temporarily Unavailable');
  });

  it('passes the client and the original request on in X-Forwarded-* and X-Real-IP', async () => {
    const h = (await get(httpPort, `bar.foo.com:${httpPort}`, '/h', { headers: { 'X-Forwarded-For': '203.0.113.9' } })).echo?.headers;
    expect(h).toMatchObject({
      host: `bar.foo.com:${httpPort}`,
      'x-forwarded-for': '127.0.0.1',
      'x-real-ip': '127.0.0.1',
      'x-forwarded-host': `bar.foo.com:${httpPort}`,
      'x-forwarded-port': String(httpPort),
      'x-forwarded-proto': 'http',
      'x-original-uri': '/h',
    });
    expect(h?.['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('terminates TLS with the certificate of the SNI name, the fake one for other names, and redirects plain HTTP', async () => {
    const secure = await get(httpsPort, 'secure.example', '/', { tls: true });
    expect(secure).toMatchObject({ status: 200, cn: 'secure.example', echo: { name: 'service1' } });
    expect(secure.echo?.headers['x-forwarded-proto']).toBe('https');
    expect((await get(httpsPort, 'foo.bar.com', '/foo', { tls: true })).cn).toBe('Kubernetes Ingress Controller Fake Certificate');
    const redirect = await get(httpPort, 'secure.example', '/a?b=c');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe('https://secure.example/a?b=c');
    expect((await get(httpPort, 'plain.example', '/')).status).toBe(200); // ssl-redirect: "false"
  });

  it('passes a WebSocket upgrade through, both ways', async () => {
    expect(await upgradeEcho(httpPort, 'bar.foo.com', 'hello over the tunnel')).toEqual({ status: 101, echoed: 'hello over the tunnel' });
  });

  it('retries the next pod when one refuses the connection', async () => {
    for (let i = 0; i < 6; i++) expect((await get(httpPort, 'retry.example', '/')).echo?.name).toBe('live');
  });
});

describe('reloading', () => {
  it('loads a changed configuration gracefully, and leaves an unchanged one alone', async () => {
    const state = withRetrySlices(examples());
    expect((await applier.apply(state)).reloaded).toBe(false);
    const pid = nginx.pid;
    const s3 = svc('service3');
    const more = {
      ...state,
      ingresses: [...state.ingresses, ingress('catch-all', { rules: [rule(undefined, path('/', 'service3'))] })],
      services: [...state.services, s3.service],
      slices: [...state.slices, s3.slice],
    };
    expect((await applier.apply(more)).reloaded).toBe(true);
    expect(nginx.pid).toBe(pid);
    const deadline = Date.now() + 5000;
    // Until the old workers have left, a connection may still reach one of them (the old configuration): ask until a
    // new worker answers, then the old ones are on their way out.
    const served = async () => (await get(httpPort, 'unknown.example', '/')).echo?.name;
    let name = await served();
    while (name !== 'service3' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      name = await served();
    }
    expect(name).toBe('service3');
  });

  it('leaves out an Ingress whose configuration nginx refuses, serving the others', async () => {
    const state = withRetrySlices(examples());
    const bad = ingress(
      'bad-regex',
      { rules: [rule('regex.example', path('/(unclosed', 'web', 80, 'ImplementationSpecific'))] },
      { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
    );
    const r = await applier.apply({ ...state, ingresses: [...state.ingresses, bad] });
    expect(r.rendered.problems.map((p) => [p.ingress, p.reason])).toEqual([['default/bad-regex', 'ConfigTestFailed']]);
    expect(r.rendered.problems[0].message).toContain('pcre2_compile() failed: missing closing parenthesis');
    expect(r.rendered.served).toContain('default/simple-fanout-example');
    expect(r.rendered.config).not.toContain('regex.example');
    expect((await get(httpPort, 'foo.bar.com', '/foo')).echo?.name).toBe('service1');
  });

  it('keeps the running configuration when nginx refuses one no Ingress made', async () => {
    const broken = new ConfigApplier(nginx, { ...opts, workerProcesses: 'many' }, log);
    await expect(broken.apply(withRetrySlices(examples()))).rejects.toThrow(ConfigTestError);
    expect((await get(httpPort, 'foo.bar.com', '/foo')).echo?.name).toBe('service1');
  });

  it('writes each certificate file once and removes the ones no longer loaded', async () => {
    const state = withRetrySlices(examples());
    await applier.apply({ ...state, ingresses: state.ingresses.filter((i) => !i.spec?.tls) });
    expect(readdirSync(join(dir, 'ssl'))).toEqual(['default-fake-certificate.pem']);
  });
});
