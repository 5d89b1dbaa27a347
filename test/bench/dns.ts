/**
 * Cluster DNS benchmark: Debian's dnsperf against one of a real cluster's
 * CoreDNS pods (kemu's DNS server, as the `coredns` Deployment runs it, fed
 * by the api-server's watches) and, in the same run, against Debian's dnsmasq
 * serving the same Service names from a hosts file. Both are asked from one
 * client namespace on the node network (the pods are reached through their
 * node, as from any other node), in alternating rounds, with a file of
 * Service A questions.
 * dnsmasq runs in a network namespace of the bench's own, plugged into the
 * same node's pod bridge as a pod would be (an address at the top of the
 * node's pod range, which the node's IPAM hands out last): every query and
 * reply of either server takes the same path through the node (its bridge,
 * routing and kube-proxy's netfilter rules), which costs the sender of each
 * packet about as much as the server's own work does. On the node network
 * instead, dnsmasq's packets would skip the node and the ratio would measure
 * the pod network as much as the servers.
 * Prints per server: queries per second flat out (dnsperf's default of 100
 * queries outstanding), latency p50/p99 at a steady 5,000 queries per second,
 * and our share of dnsmasq's queries per second.
 * Run: npm run bench:dns   (as root; dnsperf and dnsmasq from scripts/setup.sh)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '@kemu/client';
import { formatIPv4, parseCidr } from '@kemu/api';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import { withCluster, type BenchCluster } from './cluster.js';

// Another project and subnet when two checkouts bench at once.
const PROJECT = process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench-dns';
const SUBNET = process.env.KEMU_BENCH_SUBNET ?? '172.30';
const SERVICES = 100;
const NS = 'bench-dns';
const SECONDS = 5;
// Rounds alternate between the servers: on a shared machine the load changes from one minute to the next.
const ROUNDS = 5;
const STEADY_QPS = 5000;
// On the node network, below the LoadBalancer pool (its last /24) and above the nodes (x.1.N).
const CLIENT_IP = `${SUBNET}.254.1`;
const clientNs = `${PROJECT}-bench-client`;
const dnsmasqNs = `${PROJECT}-bench-dnsmasq`;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const median = (xs: number[]) => q(xs, 0.5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A namespace with `cidrAddress` on eth0, its other end on `bridge` in the namespace `at`: the node network's bridge
 * (as `kemu up` attaches a node) or a node's pod bridge (as its kubelet attaches a pod).
 */
function attach(ns: string, leg: string, cidrAddress: string, at: string, bridge: string, gateway?: string): void {
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', at, 'link', 'add', leg, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip('-n', at, 'link', 'set', leg, 'master', bridge, 'up');
  ip('-n', ns, 'addr', 'add', cidrAddress, 'dev', 'eth0');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  if (gateway) ip('-n', ns, 'route', 'add', 'default', 'via', gateway);
}

function detach(ns: string): void {
  try {
    ip('netns', 'del', ns);
  } catch {
    /* never made */
  }
}

interface Run {
  qps: number;
  sent: number;
  lost: number;
  /** Each answer's latency in ms (verbose runs only). */
  latencies: number[];
  rcodes: string;
}

/** One dnsperf run from the client namespace. `qps`: a steady rate (and each answer's latency), else flat out. */
function dnsperf(server: string, queries: string, qps?: number): Run {
  const args = ['netns', 'exec', clientNs, 'dnsperf', '-s', server, '-d', queries, '-l', String(SECONDS)];
  if (qps) args.push('-Q', String(qps), '-v');
  const out = execFileSync('ip', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  // Verbose lines: "> NOERROR name A 0.000123", or "> T name A" for a query that timed out (counted as lost).
  const latencies = [...out.matchAll(/^> [A-Z]+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    latencies,
    rcodes: /Response codes:\s+(.*)/.exec(out)?.[1].trim() ?? '',
  };
}

/** Ask `server` for `name` from the client namespace until it answers `want`. */
async function answers(server: string, name: string, want: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const got = execFileSync('ip', ['netns', 'exec', clientNs, 'dig', '+short', '+tries=1', '+time=1', `@${server}`, name, 'A'], { encoding: 'utf8' });
      if (got.trim() === want) return;
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  throw new Error(`${server} never answered ${name} with ${want}`);
}

/** A CoreDNS pod Running and Ready, and its node. */
async function corednsPod(c: ApiClient): Promise<{ pod: Pod; node: Node; nodeIP: string }> {
  for (let i = 0; i < 300; i++) {
    const pods = (await c.list({ version: 'v1', resource: 'pods', namespace: 'kube-system' }, { labelSelector: 'k8s-app=kube-dns' })).items as Pod[];
    const pod = pods.find((p) => p.status?.podIP && (p.status.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'));
    if (pod) {
      const node = (await c.get({ version: 'v1', resource: 'nodes' }, pod.spec!.nodeName!)) as Node;
      const nodeIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      if (nodeIP && node.spec?.podCIDR) return { pod, node, nodeIP };
    }
    await sleep(200);
  }
  throw new Error('no CoreDNS pod became ready');
}

/** The pod bridge's address (the range's first) and the range's last usable address, as `a.b.c.d/len`. */
function podRangeEnds(podCIDR: string): { gateway: string; last: string } {
  const c = parseCidr(podCIDR);
  const size = 2 ** (32 - c.prefix);
  return { gateway: formatIPv4(c.network + 1), last: `${formatIPv4(c.network + size - 2)}/${c.prefix}` };
}

async function main({ state }: BenchCluster): Promise<void> {
  const c = new ApiClient({
    address: `${SUBNET}.0.3:6444`,
    ca: readFileSync(join(state, 'pki', 'ca.crt')),
    token: readFileSync(join(state, 'pki', 'admin.token'), 'utf8').trim(),
  });
  const dir = mkdtempSync('/tmp/kemu-bench-dns-');
  chmodSync(dir, 0o755); // dnsmasq reads its hosts file as nobody
  let dnsmasq: ChildProcess | undefined;
  try {
    await c.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const hosts: string[] = [];
    const questions: string[] = [];
    for (let i = 0; i < SERVICES; i++) {
      const svc = (await c.create(
        { version: 'v1', resource: 'services', namespace: NS },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}` }, spec: { ports: [{ port: 80 }] } },
      )) as Service;
      const name = `svc-${i}.${NS}.svc.cluster.local`;
      hosts.push(`${svc.spec!.clusterIP} ${name}`);
      questions.push(`${name} A`);
    }
    writeFileSync(join(dir, 'hosts'), hosts.join('\n') + '\n');
    writeFileSync(join(dir, 'queries'), questions.join('\n') + '\n');

    const { pod, node, nodeIP } = await corednsPod(c);
    const ours = pod.status!.podIP!;
    const { gateway, last } = podRangeEnds(node.spec!.podCIDR!);
    const theirs = last.split('/')[0];
    attach(clientNs, 'v-bench-cli', `${CLIENT_IP}/16`, `${PROJECT}-net`, 'br0');
    attach(dnsmasqNs, 'v-bench-dnsm', last, `${PROJECT}-${node.metadata!.name!}`, 'cni0', gateway);
    // Both are behind the node, as from any other node (host-gw).
    for (const to of [ours, theirs]) ip('-n', clientNs, 'route', 'add', `${to}/32`, 'via', nodeIP);

    // dnsmasq as an authoritative-for-its-hosts server: no upstream, no /etc/hosts, the same 5 s TTL as ours.
    dnsmasq = spawn(
      'ip',
      [
        'netns',
        'exec',
        dnsmasqNs,
        '/usr/sbin/dnsmasq',
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${join(dir, 'hosts')}`,
        `--listen-address=${theirs}`,
        '--bind-interfaces',
        '--port=53',
        '--pid-file=',
        '--local-ttl=5',
        '--user=nobody',
        '--log-facility=-',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const lastHost = hosts[hosts.length - 1].split(' ');
    await answers(theirs, lastHost[1], lastHost[0]);
    await answers(ours, lastHost[1], lastHost[0]);

    const flat: Record<'ours' | 'dnsmasq', Run[]> = { ours: [], dnsmasq: [] };
    const steady: Record<'ours' | 'dnsmasq', Run[]> = { ours: [], dnsmasq: [] };
    const queries = join(dir, 'queries');
    // A short run each to warm up (JIT, caches), not counted.
    for (const s of [ours, theirs]) execFileSync('ip', ['netns', 'exec', clientNs, 'dnsperf', '-s', s, '-d', queries, '-l', '2'], { stdio: 'ignore' });
    for (let r = 0; r < ROUNDS; r++) {
      for (const [who, server] of [
        ['ours', ours],
        ['dnsmasq', theirs],
      ] as const) {
        flat[who].push(dnsperf(server, queries));
        steady[who].push(dnsperf(server, queries, STEADY_QPS));
      }
      console.log(
        `round ${r + 1}: ours ${flat.ours[r].qps.toFixed(0)} qps (${flat.ours[r].rcodes}, ${flat.ours[r].lost} lost), dnsmasq ${flat.dnsmasq[r].qps.toFixed(0)} qps (${flat.dnsmasq[r].rcodes}, ${flat.dnsmasq[r].lost} lost)`,
      );
    }
    const qpsOf = (who: 'ours' | 'dnsmasq') => median(flat[who].map((x) => x.qps));
    const latencyOf = (who: 'ours' | 'dnsmasq') => {
      // Lost queries count as the slowest answers.
      const all = steady[who].flatMap((x) => [...x.latencies, ...Array<number>(x.lost).fill(Infinity)]);
      return { p50: q(all, 0.5), p99: q(all, 0.99), lost: steady[who].reduce((n, x) => n + x.lost, 0) };
    };
    console.log(`cluster DNS (a CoreDNS pod of kemu's, ${SERVICES} Services) vs dnsmasq (the same names from a hosts file), dnsperf, ${SECONDS} s runs:`);
    for (const who of ['ours', 'dnsmasq'] as const) {
      const l = latencyOf(who);
      console.log(
        `  ${who === 'ours' ? 'kemu DNS' : 'dnsmasq '}: ${qpsOf(who).toFixed(0)} qps flat out (median of ${ROUNDS}); at ${STEADY_QPS} qps p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, ${l.lost} lost`,
      );
    }
    // Each round's two runs are a minute apart at most: their ratio is less at the mercy of the machine's load.
    const ratios = flat.ours.map((x, i) => x.qps / flat.dnsmasq[i].qps);
    console.log(`  kemu/dnsmasq queries per second: ${median(ratios).toFixed(2)} (median of the rounds' ${ratios.map((r) => r.toFixed(2)).join(', ')})`);
  } finally {
    dnsmasq?.kill('SIGTERM');
    detach(clientNs);
    detach(dnsmasqNs);
    rmSync(dir, { recursive: true, force: true });
    c.close();
  }
}

await withCluster(PROJECT, SUBNET, main, 1);
