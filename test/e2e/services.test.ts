/**
 * Services through kube-proxy on the cluster's real nodes: a selectorless Service
 * with a hand-written EndpointSlice pointing at two agnhost netexec pods answers on
 * its ClusterIP from a pod and from a node, on its NodePort from the host; a UDP
 * Service answers too; ClientIP affinity keeps a client on one backend; a Service
 * without endpoints refuses connections; the rules look like kube-proxy's; a killed
 * kube-proxy leaves its rules in place and, restarted, reconciles them without
 * duplicates or stale chains. In iptables mode, then nftables, userspace and ipvs
 * (`kemu up --proxy-mode X` on the running cluster, which also shows the switch
 * cleans the old mode's rules), and back. ipvs runs on the userspace data path
 * here (no ip_vs in this kernel), and says so; its schedulers are observable: rr
 * alternates, sh keeps a client on one backend.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cluster, ctx, k, kemu, kubectl, namespace, netexecRunArgs, onNode, stateFile, waitFor } from './helpers.js';

let ns = '';
const ips: Record<string, string> = {};
let webIP = '';
let emptyIP = '';
let nodePort = 0;
let stickyIP = '';
let udpIP = '';

function slice(name: string, service: string, addresses: string[]): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
    endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

function service(name: string, type = 'ClusterIP', extra: object = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { type, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], ...extra },
  };
}

/** A selectorless UDP Service on netexec's UDP port (it answers "hostname" with the pod's name). */
function udpService(): object[] {
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'udp', namespace: ns }, spec: { ports: [{ port: 53, targetPort: 8081, protocol: 'UDP' }] } },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'udp-1', namespace: ns, labels: { 'kubernetes.io/service-name': 'udp' } },
      addressType: 'IPv4',
      ports: [{ name: '', port: 8081, protocol: 'UDP' }],
      endpoints: [ips.b1, ips.b2].map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    },
  ];
}

const apply = (...objs: object[]) => k(['apply', '-f', '-'], { input: objs.map((o) => stringify(o)).join('---\n') });

/** Call `get` until every backend has answered (each call picks one at random). */
async function reachesBoth(what: string, get: () => Promise<string> | string): Promise<Set<string>> {
  const seen = new Set<string>();
  await waitFor(
    what,
    async () => {
      seen.add((await get()).trim());
      return seen.has('b1') && seen.has('b2');
    },
    30_000,
    50,
  );
  return seen;
}

const fromPod = async (url: string) => (await kubectl(['exec', '-n', ns, 'client', '--', 'curl', '-s', '--max-time', '3', url])).stdout;
const fromNode = (url: string) => onNode('node-1', 'curl', '-s', '--max-time', '3', url).stdout;
/** `n` sequential curls (each a new connection) from node-1, in one exec: the answers in order. */
const fromNodeN = (url: string, n: number) =>
  onNode('node-1', 'sh', '-c', `for i in $(seq ${n}); do curl -s --max-time 3 ${url}; echo; done`)
    .stdout.split('\n')
    .slice(0, n)
    .map((l) => l.trim());
/** One datagram "hostname" to ip:port and the answer (each call is a new client port, so a new UDP session). */
const udpFromNode = (ip: string, port: number) => onNode('node-1', 'sh', '-c', `echo hostname | nc -u -w1 ${ip} ${port}`).stdout;
const udpFromPod = async (ip: string, port: number) =>
  (await kubectl(['exec', '-n', ns, 'client', '--', 'sh', '-c', `echo hostname | nc -u -w1 ${ip} ${port}`])).stdout;
/** The modes whose data path is kube-proxy's own listeners. */
const userspacePath = (mode: string) => mode === 'userspace' || mode === 'ipvs';
const clusterRecord = () => JSON.parse(readFileSync(stateFile('cluster.json'), 'utf8')) as { proxyMode?: string; ipvsScheduler?: string };
const natRules = (node = 'node-1') => onNode(node, 'iptables-save', '-t', 'nat').stdout;
const allRules = (node = 'node-1') => onNode(node, 'iptables-save').stdout;

beforeAll(async () => {
  ns = await namespace('svc');
  for (const [name, node] of [
    ['b1', 'node-1'],
    ['b2', 'node-2'],
    ['client', 'node-1'],
  ] as const)
    await k(['-n', ns, ...netexecRunArgs(name, node)]);
  await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/b1', 'pod/b2', 'pod/client', '--timeout=60s']);
  for (const p of ['b1', 'b2']) ips[p] = await k(['get', 'pod', '-n', ns, p, '-o', 'jsonpath={.status.podIP}']);
  await apply(
    service('web', 'NodePort'),
    slice('web-1', 'web', [ips.b1, ips.b2]),
    service('empty'),
    service('sticky', 'ClusterIP', { sessionAffinity: 'ClientIP' }),
    slice('sticky-1', 'sticky', [ips.b1, ips.b2]),
    ...udpService(),
  );
  webIP = await k(['get', 'svc', '-n', ns, 'web', '-o', 'jsonpath={.spec.clusterIP}']);
  emptyIP = await k(['get', 'svc', '-n', ns, 'empty', '-o', 'jsonpath={.spec.clusterIP}']);
  nodePort = Number(await k(['get', 'svc', '-n', ns, 'web', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
  stickyIP = await k(['get', 'svc', '-n', ns, 'sticky', '-o', 'jsonpath={.spec.clusterIP}']);
  udpIP = await k(['get', 'svc', '-n', ns, 'udp', '-o', 'jsonpath={.spec.clusterIP}']);
});

afterAll(async () => {
  // Later suites share the cluster: leave it in the default mode.
  const rec = clusterRecord();
  if (rec.proxyMode !== 'iptables' || (rec.ipvsScheduler ?? 'rr') !== 'rr') kemu('up', '--proxy-mode', 'iptables', '--ipvs-scheduler', 'rr');
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe.each(['iptables', 'nftables', 'userspace', 'ipvs'] as const)('Services through kube-proxy in %s mode', (mode) => {
  beforeAll(() => {
    if (mode !== 'iptables') kemu('up', '--proxy-mode', mode);
  });

  it('runs a kube-proxy per node in this mode, listed by kemu status', () => {
    const status = kemu('status');
    for (const n of ['node-1', 'node-2', 'node-3'])
      expect(status).toMatch(new RegExp(`${n}/kube-proxy\\s+running\\s+\\d+\\s+${ctx().subnet.replace('.', '\\.')}\\.1\\.`));
    expect(status).toContain(`kube-proxy mode: ${mode}`);
    expect(fromNode('http://127.0.0.1:10249/proxyMode')).toBe(mode);
    const headers = onNode('node-1', 'curl', '-sI', 'http://127.0.0.1:10249/proxyMode').stdout;
    const metrics = fromNode('http://127.0.0.1:10249/metrics');
    if (userspacePath(mode)) {
      expect(status).toContain(`kube-proxy mode: ${mode} (userspace data path, scheduler rr`);
      expect(headers).toMatch(/X-Kemu-Data-Path: userspace; scheduler=rr/i);
      expect(metrics).toContain(`kemu_proxy_data_path_info{mode="${mode}",data_path="userspace",scheduler="rr"} 1`);
    } else {
      expect(headers).toMatch(new RegExp(`X-Kemu-Data-Path: ${mode}\\r?\\n`, 'i'));
      expect(metrics).toContain(`kemu_proxy_data_path_info{mode="${mode}",data_path="${mode}",scheduler=""} 1`);
    }
    if (mode === 'ipvs') {
      // This machine's kernel has no ip_vs: kube-proxy says so, in its log and through kemu status.
      expect(status).toContain('IPVS not available in this kernel');
      expect(readFileSync(stateFile('logs', 'node-1', 'kube-proxy.log'), 'utf8')).toContain(
        'IPVS not available in this kernel; serving the rr scheduler through the userspace data path',
      );
    }
  });

  it('the old mode left nothing behind', () => {
    const nft = onNode('node-1', 'nft', 'list', 'table', 'ip', 'kube-proxy').code;
    if (mode === 'iptables') expect(nft).not.toBe(0);
    else if (mode === 'nftables') expect(allRules()).not.toMatch(/KUBE-/);
    else {
      expect(nft).not.toBe(0);
      expect(allRules()).not.toMatch(/KUBE-(SERVICES|SVC-|SEP-|POSTROUTING|MARK-MASQ)/);
    }
    if (mode === 'iptables' || mode === 'nftables') expect(allRules()).not.toMatch(/KUBE-(PORTALS|NODEPORT)-/);
  });

  it('a ClusterIP reaches both endpoints from a pod (one of them on the same node) and from a node', async () => {
    await reachesBoth('both backends from the client pod', () => fromPod(`http://${webIP}/hostname`));
    await reachesBoth('both backends from node-1', () => fromNode(`http://${webIP}/hostname`));
  });

  it('a pod reaches itself through its Service (hairpin)', async () => {
    const fromB1 = async () => (await kubectl(['exec', '-n', ns, 'b1', '--', 'curl', '-s', '--max-time', '3', `http://${webIP}/hostname`])).stdout;
    await reachesBoth('both backends from b1, itself included', fromB1);
  });

  it('a NodePort answers from the host on every node address', async () => {
    for (const n of [1, 2, 3]) {
      const url = `http://${ctx().subnet}.1.${n}:${nodePort}/hostname`;
      // curl, a new connection each time (fetch would keep one alive, and so one backend).
      await reachesBoth(`both backends through node-${n}'s NodePort`, () => spawnSync('curl', ['-s', '--max-time', '3', url], { encoding: 'utf8' }).stdout);
    }
  });

  it('a UDP ClusterIP answers from a pod and from a node', async () => {
    await reachesBoth('both UDP backends from node-1', () => udpFromNode(udpIP, 53));
    await reachesBoth('both UDP backends from the client pod', () => udpFromPod(udpIP, 53));
  });

  it('ClientIP affinity keeps one client on one backend', () => {
    const answers = new Set(fromNodeN(`http://${stickyIP}/hostname`, 15));
    expect(answers.size).toBe(1);
    expect(['b1', 'b2']).toContain([...answers][0]);
  });

  /** The backends of `n` sequential connections from node-1 to web's ClusterIP. */
  const sequence = (n: number) => fromNodeN(`http://${webIP}/hostname`, n);

  it.runIf(userspacePath(mode))('rr: sequential connections alternate evenly between the backends', () => {
    const seq = sequence(8);
    for (let i = 1; i < seq.length; i++) expect(seq[i]).not.toBe(seq[i - 1]);
    expect(seq.filter((b) => b === 'b1')).toHaveLength(4);
  });

  it.runIf(mode === 'ipvs')(
    'sh: one client always reaches the same backend',
    async () => {
      kemu('up', '--ipvs-scheduler', 'sh');
      try {
        expect(kemu('status')).toContain('kube-proxy mode: ipvs (userspace data path, scheduler sh');
        await waitFor('web answering under sh', () => fromNode(`http://${webIP}/hostname`).trim() !== '');
        expect(new Set(sequence(10)).size).toBe(1);
        const fromClient = new Set<string>();
        for (let i = 0; i < 5; i++) fromClient.add((await fromPod(`http://${webIP}/hostname`)).trim());
        expect(fromClient.size).toBe(1);
      } finally {
        kemu('up', '--ipvs-scheduler', 'rr');
      }
      // Two `kemu up` restarts of every kube-proxy: ~45 s on a loaded 2-core machine, more than the default 60 s leaves.
    },
    180_000,
  );

  it('a Service without endpoints refuses connections (no timeout)', async () => {
    const r = onNode('node-1', 'curl', '-sS', '--max-time', '10', `http://${emptyIP}/`);
    expect(r.code).toBe(7); // curl: could not connect (28 would be a timeout)
    const pod = await kubectl(['exec', '-n', ns, 'client', '--', '/agnhost', 'connect', `${emptyIP}:80`, '--timeout=10s']);
    expect(pod.stderr).toContain('REFUSED');
  });

  it('programs the node the way kube-proxy does', () => {
    // kube-proxy orders endpoints by "ip:port" as strings; which pod comes first depends on the podCIDRs the nodes got.
    const [first] = [`${ips.b1}:8080`, `${ips.b2}:8080`].sort().map((e) => e.replace(/:8080$/, ''));
    if (mode === 'iptables') {
      const nat = natRules();
      expect(nat).toMatch(
        new RegExp(`-A KUBE-SERVICES -d ${webIP}/32 -p tcp -m comment --comment "${ns}/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-[A-Z2-7]{16}`),
      );
      expect(nat).toMatch(
        new RegExp(
          `-A KUBE-SVC-[A-Z2-7]{16} -m comment --comment "${ns}/web -> ${first}:8080" -m statistic --mode random --probability 0\\.5\\d+ -j KUBE-SEP-`,
        ),
      );
      expect(nat).toMatch(
        new RegExp(
          `-A KUBE-SEP-[A-Z2-7]{16} -p tcp -m comment --comment "?${ns}/web"? -m tcp -j DNAT --to-destination ${first === ips.b1 ? ips.b2 : ips.b1}:8080`,
        ),
      );
      expect(nat).toMatch(new RegExp(`-A KUBE-NODEPORTS -p tcp -m comment --comment "?${ns}/web"? -m tcp --dport ${nodePort} -j KUBE-EXT-`));
      expect(allRules()).toContain(`-A KUBE-SERVICES -d ${emptyIP}/32 -p tcp -m comment --comment "${ns}/empty has no endpoints" -m tcp --dport 80 -j REJECT`);
    } else if (userspacePath(mode)) {
      const all = allRules();
      const spn = `-p tcp -m comment --comment "?${ns}/web"? -m tcp`;
      expect(all).toMatch(new RegExp(`-A KUBE-PORTALS-CONTAINER -d ${webIP}/32 ${spn} --dport 80 -j REDIRECT --to-ports \\d+`));
      expect(all).toMatch(new RegExp(`-A KUBE-PORTALS-HOST -d ${webIP}/32 ${spn} --dport 80 -j DNAT --to-destination ${ctx().subnet}\\.1\\.1:\\d+`));
      expect(all).toMatch(new RegExp(`-A KUBE-NODEPORT-CONTAINER ${spn} --dport ${nodePort} -j REDIRECT --to-ports \\d+`));
      expect(all).toMatch(/-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER/);
      expect(all).toMatch(
        new RegExp(`-A KUBE-PORTALS-REJECT -d ${emptyIP}/32 -p tcp -m comment --comment "${ns}/empty has no endpoints" -m tcp --dport 80 -j REJECT`),
      );
      // The listener the portal points at is kube-proxy's own.
      const port = new RegExp(`-A KUBE-PORTALS-CONTAINER -d ${webIP}/32 .* --to-ports (\\d+)`).exec(all)?.[1];
      expect(onNode('node-1', 'ss', '-Htlnp', `sport = :${port}`).stdout).toMatch(/node/);
    } else {
      const table = onNode('node-1', 'nft', 'list', 'table', 'ip', 'kube-proxy').stdout;
      expect(table).toMatch(new RegExp(`${webIP.replace(/\./g, '\\.')} \\. tcp \\. 80 : goto service-[A-Z2-7]{8}-${ns}/web/tcp/`));
      expect(table).toMatch(
        new RegExp(`numgen random mod 2 vmap \\{ 0 : goto endpoint-[A-Z2-7]{8}-${ns}/web/tcp/__${first?.replace(/\./g, '\\.')}/8080, 1 : goto endpoint-`),
      );
      expect(table).toContain(`${emptyIP} . tcp . 80 comment "${ns}/empty" : goto reject-chain`);
    }
  });

  it('follows EndpointSlice changes, and reports the sync and programming metrics', async () => {
    await apply(slice('web-1', 'web', [ips.b2]));
    const only = ips.b1;
    // web's own endpoint (the sticky and udp Services use b1 too).
    const webHasB1 = () =>
      mode === 'iptables'
        ? natRules().includes(`"${ns}/web -> ${only}:8080"`)
        : onNode('node-1', 'nft', 'list', 'table', 'ip', 'kube-proxy').stdout.includes(`${ns}/web/tcp/__${only}/8080`);
    const sixAnswers = () => [...new Set(fromNodeN(`http://${webIP}/hostname`, 6))].sort().join(',');
    // The userspace data path has no endpoint in its rules: it shows in where the connections go.
    if (userspacePath(mode)) await waitFor('b1 no longer chosen', () => sixAnswers() === 'b2');
    else await waitFor('b1 gone from the rules', () => !webHasB1());
    expect(sixAnswers()).toBe('b2');
    await apply(slice('web-1', 'web', [ips.b1, ips.b2]));
    if (userspacePath(mode)) await waitFor('b1 chosen again', () => sixAnswers() === 'b1,b2');
    else await waitFor('b1 back in the rules', () => webHasB1());
    const metrics = fromNode('http://127.0.0.1:10249/metrics');
    expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^kubeproxy_network_programming_duration_seconds_count [1-9]/m);
    if (mode === 'iptables') expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} [1-9]/m);
  });

  it('a killed kube-proxy leaves the rules in place; restarted, it removes what went stale and duplicates nothing', async () => {
    await apply(service('gone'), slice('gone-1', 'gone', [ips.b1]));
    const goneIP = await k(['get', 'svc', '-n', ns, 'gone', '-o', 'jsonpath={.spec.clusterIP}']);
    const dump = () => (mode === 'nftables' ? onNode('node-1', 'nft', 'list', 'table', 'ip', 'kube-proxy').stdout : allRules());
    await waitFor('the new Service in the rules', () => dump().includes(goneIP));

    cluster().killService('node-1/kube-proxy'); // as `docker kill`: its restart policy leaves it down
    await waitFor('kube-proxy down', () => /node-1\/kube-proxy\s+exited/.test(kemu('status')));
    await k(['delete', 'svc', '-n', ns, 'gone']);
    await k(['delete', 'endpointslice', '-n', ns, 'gone-1']);
    // Nobody programs node-1 now: its rules stay as they were and still carry traffic — except where the
    // data path is kube-proxy itself: its portals lead to closed ports, so connections are refused.
    expect(dump()).toContain(goneIP);
    if (userspacePath(mode)) expect(onNode('node-1', 'curl', '-s', '--max-time', '3', `http://${webIP}/hostname`).code).toBe(7);
    else await reachesBoth('both backends with kube-proxy down', () => fromNode(`http://${webIP}/hostname`));

    kemu('up');
    await waitFor('the stale Service gone from the rules', () => !dump().includes(goneIP));
    const rules = dump()
      .split('\n')
      .filter((l) => l.startsWith('-A ') || l.includes('jump') || l.includes('goto'));
    const counts = new Map<string, number>();
    for (const l of rules.filter((x) => x.startsWith('-A '))) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    if (mode === 'iptables') expect(dump().match(/-A PREROUTING .*-j KUBE-SERVICES/g)).toHaveLength(1);
    else if (userspacePath(mode)) {
      expect(dump().match(/-A PREROUTING .*-j KUBE-PORTALS-CONTAINER/g)).toHaveLength(1);
      expect(dump().match(/-A OUTPUT .*-j KUBE-NODEPORT-HOST/g)).toHaveLength(1);
    } else expect(dump().match(new RegExp(`numgen random mod 2 vmap \\{ 0 : goto endpoint-[A-Z2-7]{8}-${ns}/web/`, 'g'))).toHaveLength(1); // web's one service chain, written once
    await reachesBoth('both backends after the restart', () => fromPod(`http://${webIP}/hostname`));
  });
});
