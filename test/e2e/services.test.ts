/**
 * Services through kube-proxy on the cluster's real nodes: a selectorless Service
 * with a hand-written EndpointSlice pointing at two agnhost netexec pods answers on
 * its ClusterIP from a pod and from a node, on its NodePort from the host; a Service
 * without endpoints refuses connections; the rules look like kube-proxy's; a killed
 * kube-proxy leaves its rules in place and, restarted, reconciles them without
 * duplicates or stale chains. In iptables mode, then in nftables mode (`kemu up
 * --proxy-mode nftables` on the running cluster, which also shows the switch cleans
 * the old mode's rules), and back.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ctx, k, kemu, kubectl, namespace, netexecRunArgs, stateFile, waitFor } from './helpers.js';
import { CLI } from './global-setup.js';

let ns = '';
const ips: Record<string, string> = {};
let webIP = '';
let emptyIP = '';
let nodePort = 0;

/** `kemu exec NODE -- argv` with its exit code and output (kemu() throws on a non-zero exit). */
function onNode(node: string, ...argv: string[]): { code: number; stdout: string; stderr: string } {
  const c = ctx();
  const r = spawnSync(process.execPath, [CLI, '-p', c.project, '--subnet', c.subnet, 'exec', node, '--', ...argv], { env: { ...process.env, KEMU_HOME: c.home }, encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

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

function service(name: string, type = 'ClusterIP'): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { type, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] } };
}

const apply = (...objs: object[]) => k(['apply', '-f', '-'], { input: objs.map((o) => stringify(o)).join('---\n') });

/** Call `get` until every backend has answered (each call picks one at random). */
async function reachesBoth(what: string, get: () => Promise<string> | string): Promise<Set<string>> {
  const seen = new Set<string>();
  await waitFor(what, async () => {
    seen.add((await get()).trim());
    return seen.has('b1') && seen.has('b2');
  }, 30_000, 50);
  return seen;
}

const fromPod = async (url: string) => (await kubectl(['exec', '-n', ns, 'client', '--', 'curl', '-s', '--max-time', '3', url])).stdout;
const fromNode = (url: string) => onNode('node-1', 'curl', '-s', '--max-time', '3', url).stdout;
const natRules = (node = 'node-1') => onNode(node, 'iptables-save', '-t', 'nat').stdout;
const allRules = (node = 'node-1') => onNode(node, 'iptables-save').stdout;
const proxyPid = (node: string) => Number(readFileSync(stateFile('pids', node, 'kube-proxy.pid'), 'utf8').trim());

beforeAll(async () => {
  ns = await namespace('svc');
  for (const [name, node] of [['b1', 'node-1'], ['b2', 'node-2'], ['client', 'node-1']] as const) await k(['-n', ns, ...netexecRunArgs(name, node)]);
  await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/b1', 'pod/b2', 'pod/client', '--timeout=60s']);
  for (const p of ['b1', 'b2']) ips[p] = await k(['get', 'pod', '-n', ns, p, '-o', 'jsonpath={.status.podIP}']);
  await apply(service('web', 'NodePort'), slice('web-1', 'web', [ips.b1, ips.b2]), service('empty'));
  webIP = await k(['get', 'svc', '-n', ns, 'web', '-o', 'jsonpath={.spec.clusterIP}']);
  emptyIP = await k(['get', 'svc', '-n', ns, 'empty', '-o', 'jsonpath={.spec.clusterIP}']);
  nodePort = Number(await k(['get', 'svc', '-n', ns, 'web', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
});

afterAll(async () => {
  // Later suites share the cluster: leave it in the default mode.
  if ((JSON.parse(readFileSync(stateFile('cluster.json'), 'utf8')) as { proxyMode?: string }).proxyMode !== 'iptables') kemu('up', '--proxy-mode', 'iptables');
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe.each(['iptables', 'nftables'] as const)('Services through kube-proxy in %s mode', (mode) => {
  beforeAll(() => {
    if (mode !== 'iptables') kemu('up', '--proxy-mode', mode);
  });

  it('runs a kube-proxy per node in this mode, listed by kemu status', () => {
    const status = kemu('status');
    for (const n of ['node-1', 'node-2', 'node-3']) expect(status).toMatch(new RegExp(`${n}/kube-proxy\\s+running\\s+\\d+\\s+${ctx().subnet.replace('.', '\\.')}\\.1\\.`));
    expect(status).toContain(`kube-proxy mode: ${mode}`);
    expect(fromNode('http://127.0.0.1:10249/proxyMode')).toBe(mode);
  });

  it('the old mode left nothing behind', () => {
    if (mode === 'iptables') expect(onNode('node-1', 'nft', 'list', 'table', 'ip', 'kube-proxy').code).not.toBe(0);
    else expect(allRules()).not.toMatch(/KUBE-/);
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

  it('a Service without endpoints refuses connections (no timeout)', async () => {
    const r = onNode('node-1', 'curl', '-sS', '--max-time', '10', `http://${emptyIP}/`);
    expect(r.code).toBe(7); // curl: could not connect (28 would be a timeout)
    const pod = await kubectl(['exec', '-n', ns, 'client', '--', '/agnhost', 'connect', `${emptyIP}:80`, '--timeout=10s']);
    expect(pod.stderr).toContain('REFUSED');
  });

  it('programs the node the way kube-proxy does', () => {
    if (mode === 'iptables') {
      const nat = natRules();
      expect(nat).toMatch(new RegExp(`-A KUBE-SERVICES -d ${webIP}/32 -p tcp -m comment --comment "${ns}/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-[A-Z2-7]{16}`));
      expect(nat).toMatch(new RegExp(`-A KUBE-SVC-[A-Z2-7]{16} -m comment --comment "${ns}/web -> ${ips.b1}:8080" -m statistic --mode random --probability 0\\.5\\d+ -j KUBE-SEP-`));
      expect(nat).toMatch(new RegExp(`-A KUBE-SEP-[A-Z2-7]{16} -p tcp -m comment --comment "?${ns}/web"? -m tcp -j DNAT --to-destination ${ips.b2}:8080`));
      expect(nat).toMatch(new RegExp(`-A KUBE-NODEPORTS -p tcp -m comment --comment "?${ns}/web"? -m tcp --dport ${nodePort} -j KUBE-EXT-`));
      expect(allRules()).toContain(`-A KUBE-SERVICES -d ${emptyIP}/32 -p tcp -m comment --comment "${ns}/empty has no endpoints" -m tcp --dport 80 -j REJECT`);
    } else {
      const table = onNode('node-1', 'nft', 'list', 'table', 'ip', 'kube-proxy').stdout;
      expect(table).toMatch(new RegExp(`${webIP.replace(/\./g, '\\.')} \\. tcp \\. 80 : goto service-[A-Z2-7]{8}-${ns}/web/tcp/`));
      expect(table).toMatch(new RegExp(`numgen random mod 2 vmap \\{ 0 : goto endpoint-[A-Z2-7]{8}-${ns}/web/tcp/__${ips.b1.replace(/\./g, '\\.')}/8080, 1 : goto endpoint-`));
      expect(table).toContain(`${emptyIP} . tcp . 80 comment "${ns}/empty" : goto reject-chain`);
    }
  });

  it('follows EndpointSlice changes, and reports the sync and programming metrics', async () => {
    await apply(slice('web-1', 'web', [ips.b2]));
    const only = ips.b1;
    const dump = () => (mode === 'iptables' ? natRules() : onNode('node-1', 'nft', 'list', 'table', 'ip', 'kube-proxy').stdout);
    await waitFor('b1 gone from the rules', () => !dump().includes(`${only}:8080`));
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add(fromNode(`http://${webIP}/hostname`).trim());
    expect([...answers]).toEqual(['b2']);
    await apply(slice('web-1', 'web', [ips.b1, ips.b2]));
    await waitFor('b1 back in the rules', () => dump().includes(`${only}:8080`));
    const metrics = fromNode('http://127.0.0.1:10249/metrics');
    expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^kubeproxy_network_programming_duration_seconds_count [1-9]/m);
    if (mode === 'iptables') expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} [1-9]/m);
  });

  it('a killed kube-proxy leaves the rules in place; restarted, it removes what went stale and duplicates nothing', async () => {
    await apply(service('gone'), slice('gone-1', 'gone', [ips.b1]));
    const goneIP = await k(['get', 'svc', '-n', ns, 'gone', '-o', 'jsonpath={.spec.clusterIP}']);
    const dump = () => (mode === 'iptables' ? allRules() : onNode('node-1', 'nft', 'list', 'table', 'ip', 'kube-proxy').stdout);
    await waitFor('the new Service in the rules', () => dump().includes(goneIP));

    process.kill(proxyPid('node-1'), 'SIGKILL');
    await waitFor('kube-proxy down', () => /node-1\/kube-proxy\s+exited/.test(kemu('status')));
    await k(['delete', 'svc', '-n', ns, 'gone']);
    await k(['delete', 'endpointslice', '-n', ns, 'gone-1']);
    // Nobody programs node-1 now: its rules stay as they were and still carry traffic.
    expect(dump()).toContain(goneIP);
    await reachesBoth('both backends with kube-proxy down', () => fromNode(`http://${webIP}/hostname`));

    kemu('up');
    await waitFor('the stale Service gone from the rules', () => !dump().includes(goneIP));
    const rules = dump().split('\n').filter((l) => l.startsWith('-A ') || l.includes('jump') || l.includes('goto'));
    const counts = new Map<string, number>();
    for (const l of rules.filter((x) => x.startsWith('-A '))) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    if (mode === 'iptables') expect(dump().match(/-A PREROUTING .*-j KUBE-SERVICES/g)).toHaveLength(1);
    else expect(dump().match(/numgen random mod 2 /g)).toHaveLength(1); // web's one service chain, written once
    await reachesBoth('both backends after the restart', () => fromPod(`http://${webIP}/hostname`));
  });
});
