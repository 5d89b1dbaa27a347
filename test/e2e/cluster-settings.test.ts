/**
 * Cluster settings (`kemu up --service-cidr --pod-cidr --cluster-domain --dns-ip --dns-replicas --dns-legacy-names`),
 * replayed with "Getting Started with Kubernetes"' own manifests and commands, each on a one-node cluster of its own
 * (KEMU_E2E_PROJECT2 / KEMU_E2E_SUBNET2, one after the other, taken down even on failure):
 *
 * - the book's cluster: services in 10.0.0.0/16, DNS_SERVER_IP 10.0.0.10, DNS_DOMAIN cluster.local, DNS_REPLICAS 1,
 *   and the names of its day. The node-js ReplicationController behind a Service at the custom address
 *   `clusterIP: 10.0.125.105` answers there; from the `utility` pod of the `test` namespace the Node.js example
 *   answers as `node-js.default.cluster.local` (the pre-1.2 form, `--dns-legacy-names`) as well as by its svc name,
 *   and the headless node-js-none by both names too.
 * - a 10.0.0.0/24 service range (DNS at its 10th address), a pod range of its own and the cluster domain kemu.test:
 *   the same Service is refused in Kubernetes' words, 10.0.125.105 being outside the range; the `kubernetes` Service
 *   is at 10.0.0.1, pods get addresses of the pod range and a resolv.conf naming 10.0.0.10 with the kemu.test search
 *   path, and both name forms answer in kemu.test.
 *
 * Bad settings are refused by `kemu up` before anything starts (two here; the rest in the unit tests), and the suite's shared cluster (the defaults) keeps
 * the old names unanswered, as Kubernetes does. `--dns off` and the option → compose mapping are unit tests
 * (services/cli/src/settings.test.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './global-setup.js';
import { onNode, waitFor } from './helpers.js';

const PROJECT = process.env.KEMU_E2E_PROJECT2 ?? 'kemu-cs';
const SUBNET = process.env.KEMU_E2E_SUBNET2 ?? '172.27';

/** A cluster of the suite's own: `kemu up` with these settings, kubectl against it, `kemu down` and its home gone. */
function ownCluster(name: string) {
  const home = mkdtempSync(`/tmp/kemu-${name}-`);
  const env = { KEMU_DNS_FORWARD: 'off', ...process.env, KEMU_HOME: home };
  const kemu = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, '-p', name, '--subnet', SUBNET, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const kubectl = async (args: string[], input?: string) => {
    const r = await execa('kubectl', ['--kubeconfig', join(home, name, 'kubeconfig'), '--cache-dir', join(home, 'kubectl-cache'), ...args], {
      reject: false,
      timeout: 60_000,
      input,
    });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 1 };
  };
  const k = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  function down() {
    try {
      kemu('down');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  return {
    home,
    kemu,
    kubectl,
    k,
    down,
    /** `kemu up --nodes 1` with these options; what a failed start made is taken down before the error goes on. */
    up(...args: string[]) {
      try {
        execFileSync(process.execPath, [CLI, '-p', name, '--subnet', SUBNET, 'up', '--nodes', '1', ...args], { env, stdio: 'inherit' });
      } catch (e) {
        down();
        throw e;
      }
    },
  };
}

// The book's manifests (chapter 2 and 3), as printed.
const NODEJS_CONTROLLER = `apiVersion: v1
kind: ReplicationController
metadata:
  name: node-js
  labels:
    name: node-js
spec:
  replicas: 3
  selector:
    name: node-js
  template:
    metadata:
      labels:
        name: node-js
    spec:
      containers:
      - name: node-js
        image: jonbaier/node-express-info:latest
        ports:
        - containerPort: 80
`;
/** nodejs-rc-service.yaml with the "custom addressing" of chapter 3: `clusterIP: 10.0.125.105`. */
const NODEJS_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: node-js
  labels:
    name: node-js
spec:
  type: LoadBalancer
  clusterIP: 10.0.125.105
  ports:
  - port: 80
  selector:
    name: node-js
`;
const NODEJS_HEADLESS = `apiVersion: v1
kind: Service
metadata:
  name: node-js-none
  labels:
    name: node-js-none
spec:
  clusterIP: None
  ports:
  - port: 80
  selector:
    name: node-js
`;
const TEST_NS = `apiVersion: v1
kind: Namespace
metadata:
  name: test
`;
const NS_POD = `apiVersion: v1
kind: Pod
metadata:
  name: utility
  namespace: test
spec:
  containers:
  - image: debian:latest
    command:
      - sleep
      - "3600"
    name: utility
`;
const HELLO = /<h1>Hello from node-js-[a-z0-9]{5}<\/h1>/;

describe('kemu up refuses bad settings before anything starts', () => {
  it.each([
    [['--service-cidr', '10.0.0.0/24', '--dns-ip', '10.0.125.105'], '--dns-ip: 10.0.125.105 is not in the service range 10.0.0.0/24'],
    [['--pod-cidr', `${SUBNET}.0.0/16`], `--pod-cidr: ${SUBNET}.0.0/16 overlaps the node network ${SUBNET}.0.0/16 (--subnet)`],
  ])('%j', (args, message) => {
    const c = ownCluster(`${PROJECT}-bad`);
    try {
      const r = c.kemu('up', ...args);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`kemu: ${message}`);
      expect(existsSync(join(c.home, `${PROJECT}-bad`, 'cluster.json'))).toBe(false);
      expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(`${PROJECT}-bad-`);
    } finally {
      c.down();
    }
  });
});

describe('the default cluster answers only the names of today', () => {
  it('kubernetes.default.svc.cluster.local, not kubernetes.default.cluster.local', () => {
    const dig = (name: string) => onNode('node-1', 'dig', '+time=2', '+tries=2', '@10.96.0.10', name);
    expect(dig('kubernetes.default.svc.cluster.local').stdout).toMatch(/status: NOERROR[\s\S]*IN\s+A\s+10\.96\.0\.1\b/);
    expect(dig('kubernetes.default.cluster.local').stdout).toContain('status: NXDOMAIN');
  });
});

describe("the book's cluster: services in 10.0.0.0/16, DNS at 10.0.0.10, one replica, the pre-1.2 names", () => {
  const c = ownCluster(PROJECT);

  // Its etcd is a cluster of three members too (issue: etcd as a cluster).
  beforeAll(() => c.up('--service-cidr', '10.0.0.0/16', '--dns-ip', '10.0.0.10', '--dns-replicas', '1', '--dns-legacy-names', '--etcd-members', '3'), 180_000);
  afterAll(() => c.down());

  it('runs a 3-member etcd: killing one member loses nothing, and the api-server keeps serving', async () => {
    // etcd wants the api-server's client certificate (pki/apiserver-etcd-client) over TLS.
    const pki = (n: string) => join(c.home, PROJECT, 'pki', n);
    const tls = [`--cacert=${pki('etcd/ca.crt')}`, `--cert=${pki('apiserver-etcd-client.crt')}`, `--key=${pki('apiserver-etcd-client.key')}`];
    const members = execFileSync('etcdctl', [`--endpoints=https://${SUBNET}.0.11:2379`, ...tls, 'member', 'list'], {
      encoding: 'utf8',
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    expect(
      members
        .trim()
        .split('\n')
        .map((l) => l.split(', ')[2])
        .sort(),
    ).toEqual(['etcd', 'etcd-2', 'etcd-3']);
    await c.k(['create', 'configmap', 'before', '--from-literal=k=1']);
    expect(c.kemu('chaos', 'kill', 'etcd').status).toBe(0);
    await waitFor(
      'a write with one etcd member dead',
      async () => {
        // A try that timed out on the client may still have been written: then the next one finds it.
        const r = await c.kubectl(['create', 'configmap', 'during', '--from-literal=k=2', '--request-timeout=10s']);
        return r.exitCode === 0 || r.stderr.includes('already exists');
      },
      60_000,
    );
    expect(await c.k(['get', 'configmap', 'before', '-o', 'jsonpath={.data.k}'])).toBe('1');
    expect(c.kemu('chaos', 'start', 'etcd').status).toBe(0);
    // Back, the member has what was written while it was down.
    await waitFor(
      'the restarted member to serve the write it missed',
      () =>
        spawnSync('etcdctl', [`--endpoints=https://${SUBNET}.0.2:2379`, ...tls, 'get', '--keys-only', '/registry/configmaps/default/during'], {
          encoding: 'utf8',
          env: { ...process.env, ETCDCTL_API: '3' },
        }).stdout.includes('/registry/configmaps/default/during'),
      60_000,
    );
  }, 120_000);

  it('has the kubernetes Service at 10.0.0.1 and one kube-dns replica at 10.0.0.10', async () => {
    expect(await c.k(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).toBe('10.0.0.1');
    expect(await c.k(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}'])).toBe('10.0.0.10');
    expect(await c.k(['get', 'deploy', '-n', 'kube-system', 'coredns', '-o', 'jsonpath={.spec.replicas}'])).toBe('1');
    const status = c.kemu('status');
    expect(status.stdout).toContain(
      'cluster: services 10.0.0.0/16 (kubernetes 10.0.0.1), pods 10.244.0.0/16, domain cluster.local, DNS 10.0.0.10 (1 replica, pre-1.2 names answered), etcd of 3 members',
    );
  });

  it('serves the Node.js example at 10.0.125.105 and as node-js.default.cluster.local from the test namespace', async () => {
    await c.k(['create', '-f', '-'], NODEJS_CONTROLLER);
    await c.k(['create', '-f', '-'], NODEJS_SERVICE);
    await c.k(['create', '-f', '-'], NODEJS_HEADLESS);
    await c.k(['create', '-f', '-'], TEST_NS);
    await c.k(['create', '-f', '-'], NS_POD);
    expect(await c.k(['get', 'services', '-l', 'name=node-js', '-o', 'jsonpath={.items[0].spec.clusterIP}'])).toBe('10.0.125.105');
    // kubectl wait with a selector fails at once when nothing matches yet: the replication manager makes the pod
    // a moment after the controller is created (longer here, its watches being re-made after the etcd member's death).
    await waitFor('the node-js pod', async () => (await c.k(['get', 'pods', '-l', 'name=node-js', '-o', 'name'])).trim() !== '', 60_000, 250);
    await c.k(['wait', '--for=condition=Ready', 'pod', '-l', 'name=node-js', '--timeout=90s']);
    await c.k(['wait', '--for=condition=Ready', '-n', 'test', 'pod/utility', '--timeout=60s']);
    const curl = (target: string) => c.kubectl(['exec', '-n', 'test', 'utility', '--', 'curl', '-s', '--max-time', '3', target]);
    for (const target of ['10.0.125.105', 'node-js.default.cluster.local', 'node-js.default.svc.cluster.local', 'node-js-none.default.cluster.local'])
      await waitFor(`curl ${target}`, async () => HELLO.test((await curl(target)).stdout), 30_000, 250);
    const lookup = async (name: string) => (await c.kubectl(['exec', '-n', 'test', 'utility', '--', 'nslookup', name])).stdout;
    expect(await lookup('node-js.default.cluster.local')).toMatch(/Name:\s+node-js\.default\.cluster\.local\nAddress: 10\.0\.125\.105/);
    expect(await lookup('node-js.default.svc.cluster.local')).toMatch(/Name:\s+node-js\.default\.svc\.cluster\.local\nAddress: 10\.0\.125\.105/);
  });
});

describe('a 10.0.0.0/24 service range, its own pod range and the cluster domain kemu.test', () => {
  const c = ownCluster(PROJECT);

  beforeAll(
    () =>
      c.up(
        '--service-cidr',
        '10.0.0.0/24',
        '--pod-cidr',
        '10.200.0.0/16',
        '--cluster-domain',
        'kemu.test',
        '--dns-replicas',
        '1',
        '--dns-legacy-names',
        // This cluster also looks like a kubeadm one: a control-plane Node with the control plane as its static pods.
        '--control-plane-node',
      ),
    180_000,
  );
  afterAll(() => c.down());

  it("refuses the book's clusterIP 10.0.125.105 in Kubernetes' words", async () => {
    const r = await c.kubectl(['create', '-f', '-'], NODEJS_SERVICE);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe(
      'The Service "node-js" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.125.105"}: failed to allocate IP 10.0.125.105: the provided IP (10.0.125.105) is not in the valid range. The range of valid IPs is 10.0.0.0/24',
    );
  });

  it('gives pods the pod range, the resolver at 10.0.0.10 and the kemu.test search path; both name forms answer', async () => {
    expect(await c.k(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).toBe('10.0.0.1');
    expect(await c.k(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}'])).toBe('10.0.0.10');
    await c.k(['run', 'dnsutils', '--image=debian:latest', '--restart=Never', '--', 'sleep', '3600']);
    await c.k(['wait', '--for=condition=Ready', 'pod/dnsutils', '--timeout=60s']);
    // The node's /24 of the range: which one depends on whether node-1 or the control-plane node registered first.
    expect(await c.k(['get', 'pod', 'dnsutils', '-o', 'jsonpath={.status.podIP}'])).toMatch(/^10\.200\.\d+\.\d+$/);
    expect(await c.k(['exec', 'dnsutils', '--', 'cat', '/etc/resolv.conf'])).toBe(
      ['nameserver 10.0.0.10', 'search default.svc.kemu.test svc.kemu.test kemu.test', 'options ndots:5'].join('\n'),
    );
    const nslookup = async (name: string) => (await c.kubectl(['exec', 'dnsutils', '--', 'nslookup', name])).stdout;
    // Asked again for a few seconds, as a resolver would: the one DNS replica may still be taking the first answers in.
    let last = '';
    const lookup = async (name: string, want: RegExp) => {
      await waitFor(`${name} answered`, async () => want.test((last = await nslookup(name))), 15_000, 500).catch(() => undefined);
      return last;
    };
    const svcAnswer = /Name:\s+kubernetes\.default\.svc\.kemu\.test\nAddress: 10\.0\.0\.1\n/;
    expect(await lookup('kubernetes.default.svc.kemu.test', svcAnswer)).toMatch(svcAnswer);
    const legacy = /Name:\s+kubernetes\.default\.kemu\.test\nAddress: 10\.0\.0\.1\n/;
    expect(await lookup('kubernetes.default.kemu.test', legacy)).toMatch(legacy);
    // The short name through the search path, as a pod's programs use it.
    expect(await lookup('kubernetes.default', svcAnswer)).toMatch(svcAnswer);
    expect(await nslookup('kubernetes.default.svc.cluster.local')).toMatch(/NXDOMAIN|SERVFAIL/);
  });

  it('lists the control plane as pods on a control-plane node, and a kube-proxy pod per node, as kubeadm does', async () => {
    const nodes = await c.k(['get', 'nodes']);
    expect(nodes).toMatch(/^control-plane\s+Ready\s+control-plane\s/m);
    expect(nodes).toMatch(/^node-1\s+Ready\s+<none>\s/m);
    expect(await c.k(['get', 'node', 'control-plane', '-o', 'jsonpath={.spec.taints[*].key}'])).toBe('node-role.kubernetes.io/control-plane');
    const want = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((n) => `${n}-control-plane`);
    await waitFor(
      'the control plane and kube-proxy as Running pods',
      async () => {
        const out = await c.k(['get', 'pods', '-n', 'kube-system', '-o', 'wide']);
        return (
          want.every((n) => new RegExp(`^${n}\\s+1/1\\s+Running\\s.*\\scontrol-plane\\s`, 'm').test(out)) &&
          /^kube-proxy-[a-z0-9]{5}\s+1\/1\s+Running\s.*\snode-1\s/m.test(out)
        );
      },
      60_000,
    );
    // The api-server's pod is at the address it serves on; the static pods' mirror annotation is Kubernetes'.
    expect(await c.k(['get', 'pod', '-n', 'kube-system', 'kube-apiserver-control-plane', '-o', 'jsonpath={.status.podIP}'])).toBe(`${SUBNET}.0.3`);
    expect(
      await c.k(['get', 'pod', '-n', 'kube-system', 'etcd-control-plane', '-o', "jsonpath={.metadata.annotations['kubernetes\\.io/config\\.source']}"]),
    ).toBe('file');
  });

  it('counts a restart of a killed scheduler, and makes a deleted mirror pod again', async () => {
    const pid = Number(execFileSync('cat', [join(c.home, PROJECT, 'pids', 'scheduler.pid')], { encoding: 'utf8' }));
    process.kill(pid, 'SIGKILL');
    const restarts = () =>
      c.k(['get', 'pod', '-n', 'kube-system', 'kube-scheduler-control-plane', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']);
    await waitFor('RESTARTS 1 on kube-scheduler-control-plane', async () => (await restarts()) === '1', 60_000);
    const proxy = (await c.k(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-proxy', '-o', 'name'])).trim();
    const uid = await c.k(['get', '-n', 'kube-system', proxy, '-o', 'jsonpath={.metadata.uid}']);
    await c.k(['delete', '-n', 'kube-system', proxy, '--timeout=60s']);
    await waitFor(
      'the kube-proxy pod made again',
      async () => {
        const r = await c.kubectl(['get', '-n', 'kube-system', proxy, '-o', 'jsonpath={.metadata.uid}']);
        return r.exitCode === 0 && r.stdout !== '' && r.stdout !== uid;
      },
      60_000,
    );
  });
});
