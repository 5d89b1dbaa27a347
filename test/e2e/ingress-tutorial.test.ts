/**
 * The tutorials' ingress-nginx of 2018 (0.12.0: deploy/mandatory.yaml, then
 * provider/baremetal/service-nodeport.yaml or provider/cloud-generic.yaml),
 * replayed with the real kubectl: the default-http-backend, the ConfigMaps
 * and the controller Deployment of
 * quay.io/kubernetes-ingress-controller/nginx-ingress-controller:0.12.0 with
 * its flags, each of which is honoured — --default-backend-service (what no
 * rule matches goes to the 404-server), --configmap (a key takes effect on
 * change), --ingress-class with the kubernetes.io/ingress.class annotation,
 * --election-id (one replica writes status, through a Lease named
 * `<id>-<class>`). Ingresses are extensions/v1beta1, one with only
 * spec.backend. From the host, as the tutorial does: curl with a Host header
 * to a node's address and the NodePort, then to the EXTERNAL-IP once the same
 * Service is made a LoadBalancer.
 *
 * The fixture runs in its own namespace with its own class (`tutorial`), so
 * kemu's ingress-nginx add-on (class `nginx`) keeps serving beside it; each
 * ignores the other's Ingresses, which the suite checks too. Under RBAC,
 * kemu-current-apis-rbac.yaml adds what kemu's stand-in reads beyond 0.12.0's
 * own RBAC (a difference the README states).
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k, kubectl, waitFor } from './helpers.js';
import { curlOn, replicas } from './replicas.js';

const NS = 'ingress-tutorial';
const fixture = (name: string) => new URL(`fixtures/ingress-nginx-0.12/${name}`, import.meta.url).pathname;
let nodeIP = '';
let nodePort = 0;

interface Reply {
  status: number;
  body: string;
}

/** The curl arguments for `url` with a Host header, as the tutorial tests its Ingresses. */
const curlArgs = (url: string, host: string, args: string[] = []) => ['-sS', '-m', '5', '-H', `Host: ${host}`, '-w', '\n%{http_code}', ...args, url];

function reply(stdout: string): Reply {
  const i = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(i + 1)) || 0, body: stdout.slice(0, i) };
}

/** curl from the host. */
async function curl(url: string, host: string, args: string[] = []): Promise<Reply> {
  return reply(String((await execa('curl', curlArgs(url, host, args), { reject: false })).stdout));
}

const viaNodePort = (host: string, path = '/', args: string[] = []) => curl(`http://${nodeIP}:${nodePort}${path}`, host, args);

/** The tutorial's controller replicas, and the add-on's. */
const TUTORIAL: [string, string] = [NS, 'app=ingress-nginx'];
const ADDON: [string, string] = ['ingress-nginx', 'app.kubernetes.io/component=controller'];

/**
 * Poll until `get`'s reply satisfies `want` (the controllers reload a moment after a change), first asking each
 * replica of `o.of` directly for `host``path` (see replicas.ts): the Service reaches either, and single requests follow.
 */
const until = (
  what: string,
  get: () => Promise<Reply>,
  want: (r: Reply) => boolean,
  o: { host: string; path: string; args?: string[]; of?: [string, string] },
) =>
  waitFor(
    what,
    async () => {
      for (const p of await replicas(...(o.of ?? TUTORIAL)))
        if (!want(reply((await curlOn(p, curlArgs(`http://${p.ip}${o.path}`, o.host, o.args))).stdout))) return false;
      const r = await get();
      return want(r) && r;
    },
    30_000,
    250,
  );

const DEFAULT_BACKEND = (r: Reply) => r.status === 404 && r.body === 'default backend - 404';

const controllerPods = async () =>
  (await k(['get', 'pods', '-n', NS, '-l', 'app=ingress-nginx', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.hostIP}{"\\n"}{end}']))
    .trim()
    .split('\n')
    .map((l) => l.split(' '));

beforeAll(async () => {
  // The tutorial's commands.
  await k(['apply', '-f', fixture('mandatory.yaml')]);
  // What kemu's stand-in for 0.12.0 reads beyond the tutorial's RBAC (today's APIs): see the file.
  await k(['apply', '-f', fixture('kemu-current-apis-rbac.yaml')]);
  await k(['apply', '-f', fixture('service-nodeport.yaml')]);
  await k(['apply', '-f', fixture('app.yaml')]);
  for (const d of ['default-http-backend', 'nginx-ingress-controller', 'echo'])
    await k(['rollout', 'status', '-n', NS, `deploy/${d}`, '--timeout=180s'], { timeout: 200_000 });
  nodePort = Number(await k(['get', 'svc', '-n', NS, 'ingress-nginx', '-o', 'jsonpath={.spec.ports[?(@.name=="http")].nodePort}']));
  // externalTrafficPolicy Cluster: every node's NodePort reaches a controller.
  nodeIP = (await k(['get', 'nodes', '-o', 'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}'])).trim();
}, 400_000);

afterAll(async () => {
  await kubectl(['delete', '-f', fixture('kemu-current-apis-rbac.yaml'), '--ignore-not-found', '--wait=false']);
  await kubectl(['delete', '-f', fixture('mandatory.yaml'), '--ignore-not-found', '--wait=false']);
});

describe("the tutorial's ingress-nginx 0.12 manifests", () => {
  it('serves the Ingress annotated with its class through the NodePort, by Host header and path', async () => {
    const echo = await until(
      'echo.tutorial.example',
      () => viaNodePort('echo.tutorial.example', '/hostname'),
      (r) => r.status === 200,
      { host: 'echo.tutorial.example', path: '/hostname' },
    );
    expect(echo.body).toMatch(/^echo-/);
    // api.tutorial.example has only /v1: that reaches the pod (whose netexec has no /v1), the rest does not.
    expect(await viaNodePort('api.tutorial.example', '/v1')).toEqual({ status: 404, body: '404 page not found\n' });
  });

  it('sends what no rule matches to --default-backend-service: the 404-server answers', async () => {
    expect(DEFAULT_BACKEND(await viaNodePort('nowhere.example', '/'))).toBe(true);
    expect(DEFAULT_BACKEND(await viaNodePort('api.tutorial.example', '/v2'))).toBe(true);
    // The default backend's own /healthz: no rule matches, so it is the 404-server's.
    expect(await viaNodePort('nowhere.example', '/healthz')).toEqual({ status: 200, body: 'ok' });
  });

  it("ignores the Ingress annotated for the add-on's class, which the add-on serves; the add-on ignores the tutorial's", async () => {
    expect(DEFAULT_BACKEND(await viaNodePort('addon.tutorial.example', '/hostname'))).toBe(true);
    const addon = (await k(['get', 'svc', '-n', 'ingress-nginx', 'ingress-nginx-controller', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim();
    expect(addon).not.toBe('');
    const served = await until(
      'the add-on serving addon.tutorial.example',
      () => curl(`http://${addon}/hostname`, 'addon.tutorial.example'),
      (r) => r.status === 200,
      { host: 'addon.tutorial.example', path: '/hostname', of: ADDON },
    );
    expect(served.body).toMatch(/^echo-/);
    const other = await curl(`http://${addon}/hostname`, 'echo.tutorial.example');
    expect(other.status).toBe(404);
    expect(other.body).not.toContain('default backend');
  });

  it('an Ingress with only spec.backend takes what no rule matches, until it is deleted', async () => {
    await k(['apply', '-f', fixture('default-only.yaml')]);
    const caught = await until(
      'nowhere.example reaching echo',
      () => viaNodePort('nowhere.example', '/hostname'),
      (r) => r.status === 200,
      { host: 'nowhere.example', path: '/hostname' },
    );
    expect(caught.body).toMatch(/^echo-/);
    // It is the catch-all server's: a host with rules keeps them, and its unmatched paths keep the controller's.
    expect((await viaNodePort('echo.tutorial.example', '/hostname')).body).toMatch(/^echo-/);
    expect(DEFAULT_BACKEND(await viaNodePort('api.tutorial.example', '/v2'))).toBe(true);
    await k(['delete', '-f', fixture('default-only.yaml')]);
    await until('the 404-server again', () => viaNodePort('nowhere.example', '/'), DEFAULT_BACKEND, { host: 'nowhere.example', path: '/' });
  });

  it('--configmap: proxy-body-size takes effect when the ConfigMap changes; an unknown key is logged', async () => {
    const body = ['--data-binary', 'x'.repeat(4096), '-H', 'Content-Type: text/plain'];
    expect((await viaNodePort('echo.tutorial.example', '/', body)).status).toBe(200);
    await k(['patch', 'configmap', '-n', NS, 'nginx-configuration', '--type=merge', '-p', '{"data":{"proxy-body-size":"2k","no-such-key":"1"}}']);
    const refused = await until(
      'a 4 KiB body refused',
      () => viaNodePort('echo.tutorial.example', '/', body),
      (r) => r.status === 413,
      { host: 'echo.tutorial.example', path: '/', args: body },
    );
    expect(refused.body).toContain('413 Request Entity Too Large');
    expect((await viaNodePort('echo.tutorial.example', '/', ['--data-binary', 'small'])).status).toBe(200);
    const [[pod]] = await controllerPods();
    const logs = await waitFor('the unknown key in the log', async () => {
      const l = await k(['logs', '-n', NS, pod]);
      return l.includes('no-such-key') && l;
    });
    expect(logs).toContain('configmap key not implemented by this controller, ignored');
  });

  it('--election-id: one replica leads through the Lease <id>-<class> and only it writes the status (its nodes, without --publish-service)', async () => {
    const pods = await controllerPods();
    expect(pods).toHaveLength(2);
    const holder = await waitFor('a leader', async () =>
      (await k(['get', 'lease', '-n', NS, 'ingress-controller-leader-tutorial', '-o', 'jsonpath={.spec.holderIdentity}'])).trim(),
    );
    expect(pods.map(([name]) => name)).toContain(holder);
    const want = [...new Set(pods.map(([, ip]) => ip))].sort().join(',');
    await waitFor(
      'the ADDRESS of the echo Ingress',
      async () => (await k(['get', 'ingress', '-n', NS, 'echo', '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}'])).trim().split(' ').join(',') === want,
      40_000,
      500,
    );
    for (const [name] of pods) {
      const writes = (await k(['logs', '-n', NS, name])).split('\n').filter((l) => l.includes('ingress status updated'));
      if (name === holder) expect(writes.length).toBeGreaterThan(0);
      else expect(writes).toEqual([]);
    }
  });

  it('the same Service as a LoadBalancer (provider/cloud-generic.yaml): the EXTERNAL-IP reaches the Ingresses', async () => {
    await k(['apply', '-f', fixture('cloud-generic.yaml')]);
    const ip = await waitFor(
      'an EXTERNAL-IP',
      async () => (await k(['get', 'svc', '-n', NS, 'ingress-nginx', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim(),
      30_000,
      500,
    );
    const echo = await until(
      'echo.tutorial.example at the EXTERNAL-IP',
      () => curl(`http://${ip}/hostname`, 'echo.tutorial.example'),
      (r) => r.status === 200,
      { host: 'echo.tutorial.example', path: '/hostname' },
    );
    expect(echo.body).toMatch(/^echo-/);
    expect(DEFAULT_BACKEND(await curl(`http://${ip}/`, 'nowhere.example'))).toBe(true);
    // The NodePort stays (the type changed, not the ports). cloud-generic.yaml sets externalTrafficPolicy: Local, so
    // only a node running a controller answers on it.
    const [, hostIP] = (await controllerPods())[0];
    const reply = await until(
      'the NodePort of a node with a controller',
      () => curl(`http://${hostIP}:${nodePort}/hostname`, 'echo.tutorial.example'),
      (r) => r.status === 200,
      { host: 'echo.tutorial.example', path: '/hostname' },
    );
    expect(reply.body).toMatch(/^echo-/);
  });
});
