/**
 * NetworkPolicy end to end, as Kubernetes' own network policy tests do it: agnhost netexec pods, `agnhost connect`
 * from clients on another node than the server, every verdict checked against the server's pod IP and through its
 * ClusterIP (judged after kube-proxy's DNAT). Default allow; default deny ingress; allow from pods with a label,
 * from a namespace with a label; a namespace and a pod selector ANDed in one peer versus two peers; ipBlock with
 * except; a named port; egress denied but DNS allowed by port 53; a policy added, changed and removed while a
 * client keeps connecting, with an allowed established connection surviving the change. Also what a user reads:
 * `kubectl get/describe netpol`, the agent's chains in `iptables-save`, the event for an IPv6 ipBlock. Then, with
 * kube-proxy switched to nftables mode (`kemu up --proxy-mode nftables`, the agent following it), a policy enforced
 * from the agent's own nftables table and a pod's label change as an element of its peer set; the suite leaves the
 * cluster in iptables mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicySpec } from 'kubernetes-types/networking/v1.js';
import { readFileSync } from 'node:fs';
import { AGNHOST, apply, k, kemu, kubectl, namespace, netexecContainer, onNodeAsync, stateFile, waitFor } from './helpers.js';

let nsA = '';
let nsB = '';
let serverIP = '';
let clusterIP = '';
const SERVER_NODE = 'node-1';
const CLIENT_NODE = 'node-2';
/** The clients: [namespace, name]. a and b live with the server; c and d in the labeled namespace. */
const clients = () => ({ a: [nsA, 'client-a'], b: [nsA, 'client-b'], c: [nsB, 'client-c'], d: [nsB, 'client-d'] }) as const;
type Client = keyof ReturnType<typeof clients>;
const ALL: Client[] = ['a', 'b', 'c', 'd'];

function pod(ns: string, name: string, labels: Record<string, string>, node: string, containers: Container[]): object {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, spec: { nodeName: node, containers } };
}

const policy = (name: string, spec: NetworkPolicySpec, ns = nsA) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: ns },
  spec,
});

/** Whether `client` opens a TCP connection to host:port (agnhost connect: exit 0, or TIMEOUT when dropped). */
async function connects(client: Client, host: string, port: number): Promise<boolean> {
  const [ns, name] = clients()[client];
  const r = await kubectl(['exec', '-n', ns, name, '--', '/agnhost', 'connect', `${host}:${port}`, '--timeout=2s']);
  return r.exitCode === 0;
}

/**
 * Wait until every client's verdict, to the pod IP and to the ClusterIP, is what `allowed` says (a policy change
 * is enforced asynchronously, within a second), then check it once more: it must hold, not flicker.
 */
async function expectReach(allowed: Client[], port = 8080): Promise<void> {
  const targets: [string, number][] = [[serverIP, port]];
  if (port === 8080) targets.push([clusterIP, 80]);
  // All at once: a blocked connection waits out its 2 s timeout, and the verdicts do not depend on each other.
  const verdicts = async () =>
    Promise.all(
      ALL.flatMap((c) =>
        targets.map(async ([h, p]) => `${c} → ${h === serverIP ? 'pod' : 'clusterIP'}:${p} ${(await connects(c, h, p)) ? 'allowed' : 'blocked'}`),
      ),
    );
  const want = ALL.flatMap((c) =>
    targets.map(([h, p]) => `${c} → ${h === serverIP ? 'pod' : 'clusterIP'}:${p} ${allowed.includes(c) ? 'allowed' : 'blocked'}`),
  );
  await waitFor(`verdicts ${want.join(', ')}`, async () => (await verdicts()).join() === want.join(), 30_000, 200).catch(() => undefined);
  expect(await verdicts()).toEqual(want);
}

async function only(...policies: object[]): Promise<void> {
  await k(['delete', 'networkpolicy', '--all', '-n', nsA]);
  await k(['delete', 'networkpolicy', '--all', '-n', nsB]);
  if (policies.length) await apply(nsA, ...policies);
}

beforeAll(async () => {
  nsA = await namespace('np-a');
  nsB = await namespace('np-b');
  await k(['label', 'namespace', nsB, 'team=b']);
  const server = [
    { ...netexecContainer('http', { port: 8080 }), ports: [{ name: 'http', containerPort: 8080 }] },
    { ...netexecContainer('admin', { port: 9090 }), ports: [{ name: 'admin', containerPort: 9090 }] },
  ];
  const client = (name: string) => [{ name, image: AGNHOST, args: ['netexec', '--http-port=8080'] }];
  await apply(
    nsA,
    pod(nsA, 'server', { app: 'server' }, SERVER_NODE, server),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'server', namespace: nsA },
      spec: { selector: { app: 'server' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
    pod(nsA, 'client-a', { role: 'client' }, CLIENT_NODE, client('c')),
    pod(nsA, 'client-b', {}, CLIENT_NODE, client('c')),
  );
  await apply(nsB, pod(nsB, 'client-c', { role: 'client' }, CLIENT_NODE, client('c')), pod(nsB, 'client-d', {}, CLIENT_NODE, client('c')));
  await k(['wait', '--for=condition=Ready', 'pod', '--all', '-n', nsA, '--timeout=120s']);
  await k(['wait', '--for=condition=Ready', 'pod', '--all', '-n', nsB, '--timeout=120s']);
  serverIP = await k(['get', 'pod', 'server', '-n', nsA, '-o', 'jsonpath={.status.podIP}']);
  clusterIP = await k(['get', 'service', 'server', '-n', nsA, '-o', 'jsonpath={.spec.clusterIP}']);
  // The Service answers before the first verdict (its endpoints are programmed by kube-proxy).
  await waitFor('the ClusterIP answers', () => connects('a', clusterIP, 80), 30_000);
}, 240_000);

afterAll(async () => {
  for (const ns of [nsA, nsB]) if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('NetworkPolicy', () => {
  it('allows everything while no policy selects the server', async () => {
    await expectReach(ALL);
  }, 120_000);

  it('denies all ingress in a namespace with a default-deny policy', async () => {
    await only(policy('default-deny', { podSelector: {}, policyTypes: ['Ingress'] }));
    await expectReach([]);
  }, 120_000);

  it('allows ingress from pods with a label (in the policy namespace only)', async () => {
    await only(
      policy('from-clients', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }] }),
    );
    await expectReach(['a']);
  }, 120_000);

  it('allows ingress from a namespace with a label', async () => {
    await only(policy('from-team-b', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }] }));
    await expectReach(['c', 'd']);
  }, 120_000);

  it('ANDs a namespaceSelector and a podSelector in one peer; two peers are ORed', async () => {
    const ns = { namespaceSelector: { matchLabels: { team: 'b' } } };
    const pods = { podSelector: { matchLabels: { role: 'client' } } };
    await only(policy('and', { podSelector: {}, ingress: [{ from: [{ ...ns, ...pods }] }] }));
    await expectReach(['c']);
    await only(policy('or', { podSelector: {}, ingress: [{ from: [ns, pods] }] }));
    await expectReach(['a', 'c', 'd']);
  }, 180_000);

  it('allows an ipBlock except its excepted addresses', async () => {
    const ipOf = async (name: string, ns: string) => k(['get', 'pod', name, '-n', ns, '-o', 'jsonpath={.status.podIP}']);
    const c = await ipOf('client-c', nsB);
    await only(policy('block', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: [`${c}/32`] } }] }] }));
    await expectReach(['a', 'b', 'd']);
  }, 120_000);

  it('allows a named port and nothing else', async () => {
    await only(policy('http-only', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ ports: [{ port: 'http' }] }] }));
    await expectReach(ALL);
    await expectReach([], 9090);
  }, 180_000);

  it('denies egress but DNS, allowed by port 53 like any other traffic', async () => {
    const name = `server.${nsA}.svc.cluster.local`;
    const resolves = async () => (await kubectl(['exec', '-n', nsB, 'client-c', '--', 'getent', 'hosts', name])).exitCode === 0;
    await only();
    await apply(nsB, policy('deny-egress', { podSelector: { matchLabels: { role: 'client' } }, policyTypes: ['Egress'] }, nsB));
    await waitFor('DNS blocked by default-deny egress', async () => !(await resolves()), 20_000);
    await apply(
      nsB,
      policy(
        'deny-egress',
        {
          podSelector: { matchLabels: { role: 'client' } },
          policyTypes: ['Egress'],
          egress: [
            {
              ports: [
                { port: 53, protocol: 'UDP' },
                { port: 53, protocol: 'TCP' },
              ],
            },
          ],
        },
        nsB,
      ),
    );
    await waitFor('DNS through port 53', resolves, 20_000);
    // Names resolve; connections elsewhere stay blocked, for c only (d is not selected).
    await expectReach(['a', 'b', 'd']);
  }, 180_000);

  it('enforces a policy added, changed and removed while a client keeps connecting; an allowed established connection survives', async () => {
    await only();
    await expectReach(ALL);
    // A request the server answers after 6 s holds one connection open across the change.
    const held = kubectl([
      'exec',
      '-n',
      nsA,
      'client-b',
      '--',
      'curl',
      '-s',
      '--max-time',
      '20',
      `http://${serverIP}:8080/shell?cmd=sleep%206%3Becho%20survived`,
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    await only(policy('from-clients', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }] }));
    await expectReach(['a']);
    expect((await held).stdout).toContain('survived');
    await apply(nsA, policy('from-clients', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }));
    await expectReach(['a', 'b']);
    await only();
    await expectReach(ALL);
  }, 240_000);

  it('reads as Kubernetes: kubectl get and describe, the agent chains in iptables-save, an event for what it cannot program', async () => {
    await only(
      policy('web', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ ipBlock: { cidr: '2001:db8::/64' } }, { podSelector: {} }] }] }),
    );
    const table = await k(['get', 'netpol', '-n', nsA]);
    expect(table.split('\n')[0].split(/\s+/)).toEqual(['NAME', 'POD-SELECTOR', 'AGE']);
    expect(table.split('\n')[1]).toMatch(/^web\s+app=server\s+\d+s$/);
    const described = await k(['describe', 'netpol', 'web', '-n', nsA]);
    expect(described).toContain('PodSelector:     app=server');
    expect(described).toContain('Policy Types: Ingress');
    await waitFor(
      'the agent chains of the policy',
      async () => (await onNodeAsync(SERVER_NODE, 'iptables-save', '-t', 'filter')).stdout.includes(`"policy ${nsA}/web"`),
      20_000,
    );
    const save = (await onNodeAsync(SERVER_NODE, 'iptables-save', '-t', 'filter')).stdout;
    expect(save).toMatch(/-A FORWARD -m comment --comment "kemu network policies" -j KEMU-NETPOL/);
    expect(save).toContain(`ingress of ${nsA}/server`);
    const event = await waitFor(
      'a PolicyNotProgrammed event',
      async () => (await k(['get', 'events', '-n', nsA, '--field-selector', 'reason=PolicyNotProgrammed', '-o', 'jsonpath={.items[0].message}'])) || undefined,
      20_000,
    );
    expect(event).toContain('2001:db8::/64 is not IPv4');
    // The rest of the policy is programmed: pods of the namespace still reach the server.
    await expectReach(['a', 'b']);
  }, 180_000);
});

const proxyMode = () => (JSON.parse(readFileSync(stateFile('cluster.json'), 'utf8')) as { proxyMode?: string }).proxyMode ?? 'iptables';

describe('NetworkPolicy in nftables mode: the agent follows kube-proxy into a table of its own', () => {
  beforeAll(() => void kemu('up', '--proxy-mode', 'nftables'), 180_000);
  // Later suites share the cluster: leave it in the default mode.
  afterAll(() => void (proxyMode() !== 'iptables' && kemu('up', '--proxy-mode', 'iptables')), 180_000);

  it('enforces a policy from `table inet kemu-netpol`, a label change as a peer set element, no iptables rules left', async () => {
    await only(
      policy('from-clients', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }] }),
    );
    await expectReach(['a']);
    const table = async () => (await onNodeAsync(SERVER_NODE, 'nft', 'list', 'table', 'inet', 'kemu-netpol')).stdout;
    const listed = await table();
    expect(listed).toMatch(/chain ingress-forward \{\s+type filter hook forward priority filter; policy accept;/);
    expect(listed).toContain(`jump ingress-policy-${nsA}/from-clients comment "policy ${nsA}/from-clients"`);
    expect(listed).toContain(`ip saddr @ingress-peers-${nsA}/from-clients/0 accept`);
    // The rules of the iptables mode went when the agent moved: nothing of them would drop what the table allows.
    expect((await onNodeAsync(SERVER_NODE, 'iptables-save', '-t', 'filter')).stdout).not.toContain('KEMU-NETPOL');
    const bIP = await k(['get', 'pod', 'client-b', '-n', nsA, '-o', 'jsonpath={.status.podIP}']);
    await k(['label', 'pod', 'client-b', '-n', nsA, 'role=client']);
    await expectReach(['a', 'b']);
    expect((await onNodeAsync(SERVER_NODE, 'nft', 'list', 'set', 'inet', 'kemu-netpol', `ingress-peers-${nsA}/from-clients/0`)).stdout).toContain(bIP);
    await k(['label', 'pod', 'client-b', '-n', nsA, 'role-']);
    await expectReach(['a']);
    await only();
    await expectReach(ALL);
    expect(await table()).not.toContain('from-clients');
  }, 240_000);
});
