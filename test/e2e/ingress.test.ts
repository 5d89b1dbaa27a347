/**
 * The ingress-nginx add-on (compose/addons/ingress-nginx.yaml: kemu's
 * controller driving Debian's nginx) from the host, as the Kubernetes
 * documentation's Ingress examples use it: `curl --resolve host:port:ADDRESS`.
 * The ADDRESS is the controller Service's EXTERNAL-IP when the host reaches
 * it, else a node's address and the Service's NodePorts. Pods are agnhost:
 * serve-hostname (its name, for any path) and netexec (/echo, /header).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ctx, k, kubectl, namespace, selfSignedCert, waitFor } from './helpers.js';
import { curlOn, replicas } from './replicas.js';

const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
let ns = '';
let tmp = '';
/** Where the host sends Ingress traffic: an address and its HTTP and HTTPS ports. */
let entry = { ip: '', http: 80, https: 443 };
let externalIP = '';

/** A Deployment of agnhost with `args`, and its Service on port 80 to `targetPort`. */
function app(name: string, args: string[], targetPort: number): object[] {
  const labels = { app: name };
  const probe = { httpGet: { path: '/', port: targetPort }, periodSeconds: 1 };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name, image: AGNHOST, args, readinessProbe: probe }] } },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: labels, ports: [{ port: 80, targetPort }] } },
  ];
}

interface IngressPath {
  path: string;
  service: string;
  port?: number;
  pathType?: string;
}

function ingress(name: string, rules: { host?: string; paths: IngressPath[] }[], extra: { annotations?: Record<string, string>; tls?: object[] } = {}): object {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: ns, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      ...(extra.tls ? { tls: extra.tls } : {}),
      rules: rules.map((r) => ({
        ...(r.host ? { host: r.host } : {}),
        http: {
          paths: r.paths.map((p) => ({
            path: p.path,
            pathType: p.pathType ?? 'Prefix',
            backend: { service: { name: p.service, port: { number: p.port ?? 80 } } },
          })),
        },
      })),
    },
  };
}

const apply = (...objects: object[]) => k(['apply', '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });

interface Reply {
  status: number;
  body: string;
  /** curl's verbose output (the TLS handshake, the response headers). */
  verbose: string;
}

/** The `curl` arguments for `host``path` sent to `ip`:`port` (`--resolve host:port:ADDRESS`, as the Ingress documentation does it). */
function curlArgs(ip: string, port: number, host: string, path: string, o: { https?: boolean; args?: string[] }): string[] {
  const url = `${o.https ? 'https' : 'http'}://${host}:${port}${path}`;
  return ['-sS', '-v', '-k', '-m', '5', '--resolve', `${host}:${port}:${ip}`, '-w', '\n%{http_code}', ...(o.args ?? []), url];
}

function reply(stdout: string, stderr: string): Reply {
  const i = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(i + 1)) || 0, body: stdout.slice(0, i), verbose: stderr };
}

/** From the host, through the entry. */
async function curl(host: string, path: string, o: { https?: boolean; args?: string[] } = {}): Promise<Reply> {
  const r = await execa('curl', curlArgs(entry.ip, o.https ? entry.https : entry.http, host, path, o), { reject: false });
  return reply(String(r.stdout), String(r.stderr));
}

/** What each controller replica answers, asked directly on its pod IP. */
async function everyReplica(host: string, path: string, o: { https?: boolean } = {}): Promise<Reply[]> {
  const pods = await replicas('ingress-nginx', 'app.kubernetes.io/component=controller');
  return Promise.all(
    pods.map(async (p) => {
      const r = await curlOn(p, curlArgs(p.ip, o.https ? 443 : 80, host, path, o));
      return reply(r.stdout, r.stderr);
    }),
  );
}

/**
 * Poll until `host``path` answers as `want` says, from every replica first (see replicas.ts) and then through the
 * entry: a test's single requests after it meet the change whichever replica they reach.
 */
const until = (what: string, host: string, path: string, want: (r: Reply) => boolean, o: { https?: boolean } = {}) =>
  waitFor(
    what,
    async () => {
      if (!(await everyReplica(host, path, o)).every(want)) return false;
      const r = await curl(host, path, o);
      return want(r) && r;
    },
    30_000,
    250,
  );

beforeAll(async () => {
  ns = await namespace('ing');
  tmp = mkdtempSync(join(tmpdir(), 'kemu-ingress-e2e-'));
  await k(['rollout', 'status', '-n', 'ingress-nginx', 'deploy/ingress-nginx-controller', '--timeout=180s'], { timeout: 200_000 });
  await apply(
    ...app('hello-a', ['serve-hostname'], 9376),
    ...app('hello-b', ['serve-hostname'], 9376),
    ...app('echo', ['netexec', '--http-port=8080'], 8080),
    // A Service whose selector matches no pod: no endpoints.
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nobody', namespace: ns }, spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] } },
  );
  await k(['wait', '-n', ns, '--for=condition=available', 'deploy/hello-a', 'deploy/hello-b', 'deploy/echo', '--timeout=120s'], { timeout: 150_000 });
  const svc = JSON.parse(await k(['get', 'svc', '-n', 'ingress-nginx', 'ingress-nginx-controller', '-o', 'json'])) as {
    status: { loadBalancer: { ingress?: { ip: string }[] } };
    spec: { ports: { name: string; nodePort: number }[] };
  };
  externalIP = svc.status.loadBalancer.ingress?.[0]?.ip ?? '';
  const nodePort = (name: string) => svc.spec.ports.find((p) => p.name === name)?.nodePort ?? 0;
  // externalTrafficPolicy Local: a NodePort answers only on a node running a controller.
  const controllerNode = (
    await k(['get', 'pods', '-n', 'ingress-nginx', '-l', 'app.kubernetes.io/component=controller', '-o', 'jsonpath={.items[0].status.hostIP}'])
  ).trim();
  entry = { ip: controllerNode, http: nodePort('http'), https: nodePort('https') };
  // The EXTERNAL-IP answers from the host once a node announces it (ARP); until then a NodePort does.
  if (externalIP) {
    const probe = await execa('curl', ['-s', '-o', '/dev/null', '-m', '2', '-w', '%{http_code}', `http://${externalIP}/`], { reject: false });
    if (String(probe.stdout) === '404') entry = { ip: externalIP, http: 80, https: 443 };
  }
}, 400_000);

afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Ingress through ingress-nginx, from the host', () => {
  it('the classic two hosts: a.example and b.example each reach their Service; kubectl get ingress shows the ADDRESS', async () => {
    await apply(
      ingress('two-hosts', [
        { host: 'a.example', paths: [{ path: '/', service: 'hello-a' }] },
        { host: 'b.example', paths: [{ path: '/', service: 'hello-b' }] },
      ]),
    );
    expect((await until('a.example', 'a.example', '/', (r) => r.status === 200)).body).toMatch(/^hello-a-/);
    expect((await curl('b.example', '/')).body).toMatch(/^hello-b-/);
    expect((await curl('b.example', '/any/path')).body).toMatch(/^hello-b-/);
    expect(externalIP).not.toBe('');
    const row = await waitFor('the ADDRESS column', async () => {
      const line = (await k(['get', 'ingress', 'two-hosts', '-n', ns, '--no-headers'])).trim();
      return line.includes(externalIP) && line;
    });
    expect(row.split(/\s+/)).toEqual(['two-hosts', '<none>', 'a.example,b.example', externalIP, '80', expect.any(String)]);
  });

  it('fanout by path, element-wise for Prefix; an unmatched path and an unknown host get the default backend 404', async () => {
    await apply(
      ingress('fanout', [
        {
          host: 'fanout.example',
          paths: [
            { path: '/a', service: 'hello-a' },
            { path: '/b', service: 'hello-b' },
          ],
        },
      ]),
    );
    await until('the fanout', 'fanout.example', '/a', (r) => r.status === 200);
    expect((await curl('fanout.example', '/a')).body).toMatch(/^hello-a-/);
    expect((await curl('fanout.example', '/a/deeper/path')).body).toMatch(/^hello-a-/);
    expect((await curl('fanout.example', '/b/')).body).toMatch(/^hello-b-/);
    const miss = await curl('fanout.example', '/abc');
    expect(miss.status).toBe(404);
    expect(miss.body).toContain('404 Not Found');
    expect((await curl('nowhere.example', '/a')).status).toBe(404);
  });

  it('TLS termination with the certificate of the secret, chosen by SNI; plain HTTP is redirected', async () => {
    const { crt, key } = selfSignedCert(tmp, 'tls', 'secure.example');
    await k(['create', 'secret', 'tls', 'secure-tls', '-n', ns, `--cert=${crt}`, `--key=${key}`]);
    await apply(
      ingress('tls', [{ host: 'secure.example', paths: [{ path: '/', service: 'hello-a' }] }], {
        tls: [{ hosts: ['secure.example'], secretName: 'secure-tls' }],
      }),
    );
    const r = await until('HTTPS with the secret', 'secure.example', '/', (x) => x.status === 200 && x.verbose.includes('CN=secure.example'), { https: true });
    expect(r.body).toMatch(/^hello-a-/);
    expect(readFileSync(crt, 'utf8')).toContain('BEGIN CERTIFICATE');
    // Another name on 443 gets the controller's own certificate, as in ingress-nginx.
    expect((await curl('a.example', '/', { https: true })).verbose).toContain('Kubernetes Ingress Controller Fake Certificate');
    const plain = await curl('secure.example', '/x');
    expect(plain.status).toBe(308);
    expect(plain.verbose).toMatch(/< Location: https:\/\/secure\.example\/x/i);
  });

  it('rewrite-target with capture groups, and the older annotation', async () => {
    await apply(
      ingress('rewrite', [{ host: 'rewrite.example', paths: [{ path: '/something(/|$)(.*)', service: 'echo', pathType: 'ImplementationSpecific' }] }], {
        annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true', 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' },
      }),
      ingress('old-rewrite', [{ host: 'old.example', paths: [{ path: '/app', service: 'echo' }] }], {
        annotations: { 'ingress.kubernetes.io/rewrite-target': '/' },
      }),
    );
    expect((await until('the rewrite', 'rewrite.example', '/something/echo?msg=rewritten', (r) => r.status === 200)).body).toBe('rewritten');
    expect((await until('the older rewrite', 'old.example', '/app/echo?msg=old', (r) => r.status === 200)).body).toBe('old');
  });

  it('passes the client and the original request on in X-Forwarded-* and X-Real-IP headers', async () => {
    await apply(ingress('headers', [{ host: 'headers.example', paths: [{ path: '/', service: 'echo' }] }]));
    await until('the echo', 'headers.example', '/echo?msg=x', (r) => r.body === 'x');
    const header = async (name: string) => (await curl('headers.example', `/header?key=${name}`)).body;
    // curl's Host carries the port unless it is 80.
    expect(await header('X-Forwarded-Host')).toBe(entry.http === 80 ? 'headers.example' : `headers.example:${entry.http}`);
    expect(await header('X-Forwarded-Proto')).toBe('http');
    expect(await header('X-Forwarded-Port')).toBe('80');
    // externalTrafficPolicy Local (as ingress-nginx's manifest): nginx sees the host's own address on the node network.
    expect(await header('X-Forwarded-For')).toBe(`${ctx().subnet}.0.1`);
    expect(await header('X-Real-IP')).toBe(await header('X-Forwarded-For'));
    expect(await header('X-Original-URI')).toBe('/header?key=X-Original-URI');
  });

  it('503 for a backend Service without endpoints', async () => {
    await apply(ingress('empty', [{ host: 'empty.example', paths: [{ path: '/', service: 'nobody' }] }]));
    const r = await until('a 503', 'empty.example', '/', (x) => x.status !== 404);
    expect(r.status).toBe(503);
  });

  it('an invalid Ingress (a Service port that does not exist) is left out with a Warning event, and does not break a valid one', async () => {
    await apply(
      ingress('broken', [{ host: 'shared.example', paths: [{ path: '/broken', service: 'hello-a', port: 8080 }] }]),
      ingress('valid', [{ host: 'shared.example', paths: [{ path: '/', service: 'hello-b' }] }]),
    );
    expect((await until('the valid Ingress', 'shared.example', '/', (r) => r.status === 200)).body).toMatch(/^hello-b-/);
    expect((await curl('shared.example', '/broken')).body).toMatch(/^hello-b-/);
    const events = await waitFor('the Warning event', async () => {
      const out = await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=broken,type=Warning', '-o', 'jsonpath={.items[*].message}']);
      return out.includes('8080') && out;
    });
    expect(events).toContain(`service ${ns}/hello-a does not have a TCP port 8080`);
    await waitFor('the ADDRESS of the valid one', async () => (await k(['get', 'ingress', 'valid', '-n', ns, '--no-headers'])).includes(externalIP));
    expect((await curl('a.example', '/')).body).toMatch(/^hello-a-/);
  });

  it('name-based virtual hosting with a rule for every other host', async () => {
    await apply(
      ingress('vhosts', [
        { host: 'foo.bar.com', paths: [{ path: '/', service: 'hello-a' }] },
        { host: 'bar.foo.com', paths: [{ path: '/', service: 'hello-b' }] },
        { paths: [{ path: '/', service: 'echo' }] },
      ]),
    );
    expect((await until('foo.bar.com', 'foo.bar.com', '/', (r) => r.status === 200)).body).toMatch(/^hello-a-/);
    expect((await until('bar.foo.com', 'bar.foo.com', '/', (r) => r.status === 200)).body).toMatch(/^hello-b-/);
    expect((await until('any other host', 'other.example', '/echo?msg=caught', (r) => r.status === 200)).body).toBe('caught');
    await k(['delete', 'ingress', 'vhosts', '-n', ns]);
    await until('the 404 again', 'other.example', '/', (r) => r.status === 404);
  });
});
