/**
 * The Docker driver end to end: `kemu up --driver docker` (the compose file under the compose CLI at hand), the real
 * kubectl against the published api-server, a Deployment across nodes, a node container killed and brought back by
 * its restart policy, `kemu stop` / `kemu start` (compose stop/start) losing nothing, a namespace-driver cluster
 * working beside dockerd, and `kemu down` leaving no container, network or volume.
 *
 * test/e2e-docker/prepare.sh prepares the machine first (scripts/test.sh starts it in the background with the run):
 * scripts/docker-base.sh installs Docker and debootstrap, starts dockerd when none runs, assembles the base image;
 * `kemu build` makes kemu:dev from this checkout's built tree. Where Docker cannot run (not root and no engine, no
 * kernel support), the suite is skipped and says why. KEMU_E2E_DOCKER_PROJECT / _SUBNET / _PORT and KEMU_E2E_DOCKER_NS_PROJECT / _NS_SUBNET move it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../e2e/helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'services/cli/dist/bundle.mjs');
const PROJECT = process.env.KEMU_E2E_DOCKER_PROJECT ?? 'kemu-e2e-docker';
const SUBNET = process.env.KEMU_E2E_DOCKER_SUBNET ?? '172.26';
const PORT = process.env.KEMU_E2E_DOCKER_PORT ?? '16443';
const NS_PROJECT = process.env.KEMU_E2E_DOCKER_NS_PROJECT ?? 'kemu-e2e-dkns';
const NS_SUBNET = process.env.KEMU_E2E_DOCKER_NS_SUBNET ?? '172.25';

/** The host's FORWARD policy before dockerd could touch it (the namespace driver's clusters rely on the host). */
const forwardBefore = await hostForwardPolicy();

/**
 * test/e2e-docker/prepare.sh: Docker installed and started, the base image, kemu:dev built from this checkout's tree.
 * Under scripts/test.sh it started in the background with the run (KEMU_E2E_DOCKER_PREP names its directory: log,
 * then rc): the suite waits for it. Run on its own, the suite runs it now.
 */
async function prepared(): Promise<{ exitCode: number; log: string }> {
  const dir = process.env.KEMU_E2E_DOCKER_PREP;
  if (!dir) {
    const r = await execa('bash', [join(ROOT, 'test/e2e-docker/prepare.sh')], { reject: false, stdin: 'ignore', all: true });
    return { exitCode: r.exitCode ?? 1, log: String(r.all) };
  }
  const rc = join(dir, 'rc');
  // A clean machine installs Docker, assembles the base and installs the Debian packages in an image: minutes.
  await waitFor('the Docker preparation (test/e2e-docker/prepare.sh)', () => existsSync(rc), 40 * 60_000, 1000);
  return { exitCode: Number(readFileSync(rc, 'utf8').trim()), log: readFileSync(join(dir, 'log'), 'utf8') };
}
const prep = await prepared();
// Exit 2: Docker cannot run here (not root and no engine, no kernel support); the reason is the log's last line.
const skipReason = prep.exitCode === 2 ? prep.log.trim().split('\n').pop() : undefined;
if (skipReason) console.warn(`e2e-docker skipped: ${skipReason}`);
else
  console.log(
    prep.log
      .split('\n')
      .filter((l) => /^(docker-base|prepare| {2}image|Built)/.test(l))
      .join('\n'),
  );

// Made only when the suite runs (its afterAll removes it).
const home = skipReason ? '/nonexistent' : mkdtempSync('/tmp/kemu-e2e-docker-');
const env = { ...process.env, KEMU_HOME: home, KEMU_DNS_FORWARD: 'off', KEMU_APISERVER_PORT: PORT };
const kubeconfig = join(home, PROJECT, 'kubeconfig');

async function kemu(args: string[], project = PROJECT, subnet = SUBNET): Promise<string> {
  const r = await execa(process.execPath, [CLI, '-p', project, '--subnet', subnet, ...args], { env, reject: false, stdin: 'ignore', all: true });
  if (r.exitCode !== 0) throw new Error(`kemu ${args.join(' ')} failed (${r.exitCode}):\n${String(r.all)}`);
  return String(r.stdout);
}

async function k(args: string[], kc = kubeconfig): Promise<string> {
  const r = await execa('kubectl', ['--kubeconfig', kc, '--cache-dir', join(home, 'kube-cache'), ...args], { reject: false, timeout: 60_000 });
  if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${String(r.stderr)}`);
  return String(r.stdout);
}

async function docker(args: string[]): Promise<string> {
  return String((await execa('docker', args, { stdin: 'ignore' })).stdout);
}

/** The project's containers, networks or volumes (compose labels every one of them with its project). */
async function left(kind: 'ps -a' | 'network ls' | 'volume ls'): Promise<string[]> {
  const out = await docker([...kind.split(' '), '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
  return out.split('\n').filter(Boolean);
}

async function hostForwardPolicy(): Promise<string | undefined> {
  const r = await execa('iptables', ['-S', 'FORWARD'], { reject: false, stdin: 'ignore' });
  return r.exitCode === 0 ? String(r.stdout).split('\n')[0] : undefined;
}

/** The i-th node's container id. */
async function nodeContainer(i: number): Promise<string> {
  const filters = [`label=com.docker.compose.project=${PROJECT}`, 'label=com.docker.compose.service=node', `label=com.docker.compose.container-number=${i}`];
  const id = (await docker(['ps', '-aq', ...filters.flatMap((f) => ['--filter', f])])).trim();
  if (!id) throw new Error(`no container for node-${i}`);
  return id;
}

/** name → Ready status of every Node. */
async function nodeReadiness(): Promise<Map<string, string>> {
  const out = await k(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
  return new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('=') as [string, string]),
  );
}

/** Exit code and stdout of a command in node-1's container. */
async function inNode1(cmd: string[]): Promise<{ code: number; out: string }> {
  const r = await execa('docker', ['exec', await nodeContainer(1), ...cmd], { reject: false, stdin: 'ignore', timeout: 20_000 });
  return { code: r.exitCode ?? 1, out: String(r.stdout) };
}

/** The addresses of the Running pods a selector picks. */
async function podIPs(selector: string, ns = 'default'): Promise<string[]> {
  const out = await k(['-n', ns, 'get', 'pods', '-l', selector, '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[*].status.podIP}']);
  return out.split(' ').filter(Boolean);
}

/**
 * Every web pod serves and every CoreDNS pod answers, asked from node-1's container: the pods' programs run again
 * (a Ready node or a Running phase alone says nothing of a container that crash-loops behind them).
 */
async function podsServe(): Promise<boolean> {
  const web = await podIPs('app=web');
  const dns = await podIPs('k8s-app=kube-dns', 'kube-system');
  if (web.length !== 3 || dns.length !== 2) return false;
  for (const ip of web) if (!(await inNode1(['curl', '-s', '--max-time', '3', `http://${ip}/`])).out.includes('Welcome to nginx')) return false;
  for (const ip of [...dns, '10.96.0.10']) {
    const r = await inNode1(['dig', '+short', '+time=1', '+tries=1', `@${ip}`, 'kubernetes.default.svc.cluster.local']);
    if (r.out.trim() !== '10.96.0.1') return false;
  }
  return true;
}

const allReady = async (n: number) => {
  const r = await nodeReadiness();
  return r.size === n && [...r.values()].every((s) => s === 'True');
};

describe.skipIf(skipReason !== undefined)('kemu up --driver docker', () => {
  beforeAll(async () => {
    if (prep.exitCode !== 0) throw new Error(`test/e2e-docker/prepare.sh failed (${prep.exitCode}):\n${prep.log.split('\n').slice(-20).join('\n')}`);
    // Whatever an interrupted run left (same project name).
    await kemu(['--driver', 'docker', 'down']).catch(() => undefined);
    await kemu(['--driver', 'docker', 'up', '--nodes', '3']);
  }, 600_000);

  afterAll(async () => {
    await kemu(['down']).catch((e: unknown) => console.error(e));
    await kemu(['down'], NS_PROJECT, NS_SUBNET).catch((e: unknown) => console.error(e));
    rmSync(home, { recursive: true, force: true });
  }, 300_000);

  it('accepts the compose file under the compose CLI at hand', async () => {
    const cli = (await execa('docker', ['compose', 'version'], { reject: false })).exitCode === 0 ? ['docker', 'compose'] : ['docker-compose'];
    const [cmd = '', ...pre] = cli;
    const r = await execa(cmd, [...pre, '-p', PROJECT, '-f', join(ROOT, 'compose/docker-compose.yml'), 'config', '--services'], { reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout).split('\n').sort()).toEqual([
      'apiserver',
      'control-plane',
      'controller-manager',
      'controller-manager-2',
      'etcd',
      'etcd-2',
      'etcd-3',
      'init',
      'node',
      'scheduler',
      'scheduler-2',
    ]);
  });

  it('has three Ready nodes, one per container, reachable through the published api-server', async () => {
    expect(await allReady(3)).toBe(true);
    const status = await kemu(['status']);
    for (const n of ['node-1', 'node-2', 'node-3', 'apiserver', 'etcd']) expect(status).toMatch(new RegExp(`^${n}\\s+running`, 'm'));
    expect(await k(['config', 'view', '-o', 'jsonpath={.clusters[0].cluster.server}'])).toBe(`https://127.0.0.1:${PORT}`);
    expect(await k(['get', '--raw', '/readyz'])).toBe('ok');
  });

  it('runs a Deployment across the nodes, its pods reachable from another node', async () => {
    await k(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3']);
    await k(['rollout', 'status', 'deploy/web', '--timeout=120s']);
    const pods = (await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.status.podIP}{"\\n"}{end}']))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '));
    expect(new Set(pods.map((p) => p[0])).size).toBeGreaterThan(1);
    // From node-1's container to every pod, whichever node runs it (host-gw routes between node containers).
    for (const [, ip] of pods) expect(await kemu(['exec', 'node-1', '--', 'curl', '-s', '--max-time', '5', `http://${ip}/`])).toContain('Welcome to nginx');
  });

  it('brings a killed node container back through its restart policy', async () => {
    const node2 = await nodeContainer(2);
    const started = async () => docker(['inspect', '-f', '{{.State.StartedAt}} {{.State.Running}} {{.RestartCount}}', node2]);
    const before = await started();
    // What `docker kill` does to a node, done where the engine's restart policy applies: the container's init dies.
    // (`docker kill` itself counts as a manual stop, which `unless-stopped` honours, as Docker documents.)
    const pid = (await docker(['inspect', '-f', '{{.State.Pid}}', node2])).trim();
    process.kill(Number(pid), 'SIGKILL');
    await waitFor(
      'the node container restarted',
      async () => {
        const now = await started();
        return now !== before && now.includes(' true ') && now;
      },
      60_000,
      250,
    );
    // Its kubelet and kube-proxy answer their health checks again: the node really came back, not just its Node
    // object still Ready from before the kill.
    await waitFor(
      'the node container healthy',
      async () => (await docker(['inspect', '-f', '{{.State.Health.Status}}', node2])).trim() === 'healthy',
      90_000,
      500,
    );
    await waitFor('every node Ready again', () => allReady(3), 90_000, 500);
    await waitFor('every web pod serving and every DNS pod answering', podsServe, 120_000, 1000);
  });

  it('brings a `docker kill`ed node back with kemu start (a manual kill is not undone by the restart policy)', async () => {
    const node3 = await nodeContainer(3);
    await docker(['kill', node3]);
    expect((await docker(['inspect', '-f', '{{.State.Running}}', node3])).trim()).toBe('false');
    await kemu(['start']);
    expect((await docker(['inspect', '-f', '{{.State.Running}}', node3])).trim()).toBe('true');
    await waitFor('every node Ready again', () => allReady(3), 90_000, 500);
    await waitFor('every web pod serving and every DNS pod answering', podsServe, 120_000, 1000);
  });

  it('keeps every object across kemu stop / kemu start (compose stop/start)', async () => {
    await k(['create', 'configmap', 'kept', '--from-literal=k=v']);
    expect(await kemu(['stop'])).toContain('Stopped cluster');
    expect(await docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])).toBe('');
    await kemu(['start']);
    expect(await allReady(3)).toBe(true);
    expect(await k(['get', 'configmap', 'kept', '-o', 'jsonpath={.data.k}'])).toBe('v');
    await k(['rollout', 'status', 'deploy/web', '--timeout=120s']);
    expect(await k(['get', 'deploy', 'web', '-o', 'jsonpath={.status.readyReplicas}'])).toBe('3');
    await waitFor('every web pod serving and every DNS pod answering', podsServe, 120_000, 1000);
  });

  it('scales the nodes with --nodes (compose --scale node=N)', async () => {
    await kemu(['up', '--nodes', '4']);
    expect(await allReady(4)).toBe(true);
    await waitFor('every web pod serving and every DNS pod answering', podsServe, 120_000, 1000);
  });

  it('leaves the namespace driver working beside dockerd, and the host FORWARD policy as it was', async () => {
    const out = await kemu(['up', '--nodes', '1'], NS_PROJECT, NS_SUBNET);
    expect(out).toContain('cluster DNS: answering');
    expect(await k(['get', 'nodes', '-o', 'name'], join(home, NS_PROJECT, 'kubeconfig'))).toBe('node/node-1');
    await kemu(['down'], NS_PROJECT, NS_SUBNET);
    expect(await hostForwardPolicy()).toBe(forwardBefore);
  });

  it('leaves no container, network or volume behind after kemu down', async () => {
    const out = await kemu(['down']);
    expect(out).toContain(`Removed cluster "${PROJECT}"`);
    expect(await left('ps -a')).toEqual([]);
    expect(await left('network ls')).toEqual([]);
    expect(await left('volume ls')).toEqual([]);
  });
});
