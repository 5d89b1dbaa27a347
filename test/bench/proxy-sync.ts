/**
 * kube-proxy's sync time on the real kernel tools: kube-proxy's own sync code (the model tracker fed with Service and
 * EndpointSlice objects, the ruleset, one `iptables-restore --noflush` or `nft -f`) driven directly, in a network
 * namespace of its own that this bench creates and removes. The bench runs itself inside that namespace, as
 * kube-proxy runs in its node's, so no `ip netns exec` is timed. For 1,000 and 5,000 ClusterIP Services of 2
 * endpoints each:
 *   - the first sync (empty tables, read back with iptables-save first),
 *   - full syncs of unchanged rules, every rule rewritten (kube-proxy's hourly full sync; the kernel is known, so it
 *     is not read back, as kube-proxy in large-cluster mode skips iptables-save),
 *   - a restarted kube-proxy's first sync over the full tables (read back, stale chains looked for, all rewritten),
 *   - partial syncs: one Service's endpoints changed (one endpoint replaced), only its chains rewritten; in nftables
 *     mode also partial syncs that delete, in the same transaction, the chains flushed at least 1 s before (the one
 *     kind of partial transaction for which nft loads the names of the table's chains first).
 * iptables mode runs once with iptables-nft and once with iptables-legacy (--iptables-backend). nftables mode writes
 * one `nft -f` transaction per sync, partial as kube-proxy's (only the changed Service's chains and map elements);
 * its full syncs (at start and after a failure only: kube-proxy's nftables mode has no hourly one) rewrite the table.
 * What is timed is what kubeproxy_sync_proxy_rules_duration_seconds times: the model from the objects, plus the sync;
 * the CPU time beside it (this process and the tools) is what the sync would take on an idle core.
 * Run: npm run bench:proxy-sync   (as root; about 10 minutes on 2 cores, most of it nftables' full syncs at 5,000
 * Services); arguments pick modes: `proxy-sync.ts iptables-nft iptables-legacy nftables`; KEMU_BENCH_PROXY_SIZES
 * (default "1000,5000") the sizes; the network namespace is named after KEMU_BENCH_PROJECT (default kemu-bench).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { IptablesProxier, ModelTracker, NftablesProxier, spawnExec, type NodeFacts, type Proxier } from '@kemu/proxy';

const NETNS = `${process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench'}-proxy-sync`;
const INSIDE = '--inside-netns';
const SIZES = (process.env.KEMU_BENCH_PROXY_SIZES ?? '1000,5000').split(',').map(Number);
const FULL_RUNS = 5;
const RESTART_RUNS = 2;
const PARTIAL_RUNS = 10;
const DELETING_RUNS = 3;
// A full nftables sync of 5,000 Services takes most of a minute (the kernel's cost per anonymous set, see the README):
// fewer of them.
const NFT_FULL_RUNS = 3;
const ENDPOINTS = 2;
const NODE: NodeFacts = { nodeName: 'bench', nodeIP: '192.0.2.1', localDetector: { mode: 'ClusterCIDR', cidr: '10.244.0.0/16' } };

const MODES = ['iptables-nft', 'iptables-legacy', 'nftables'] as const;
type Mode = (typeof MODES)[number];

/** The n-th address of a /16 ("10.96" + 1 → 10.96.0.1). */
const addr = (prefix: string, n: number) => `${prefix}.${Math.floor(n / 256)}.${n % 256}`;

function service(i: number): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'bench', name: `svc-${i}` },
    spec: { type: 'ClusterIP', clusterIP: addr('10.96', i + 10), ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
}

/** Service i's slice; `generation` moves its first endpoint to a new address (a pod replaced). */
function slice(i: number, generation = 0): EndpointSlice {
  const ips = Array.from({ length: ENDPOINTS }, (_, k) => addr('10.244', i * ENDPOINTS + k + 2));
  if (generation > 0) ips[0] = addr(`10.${244 + generation}`, i);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'bench', name: `svc-${i}-abcde`, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })),
  };
}

/**
 * CPU time (ms) of this process and of the children it has waited for (the kernel tools), from /proc: on a busy shared
 * machine the wall time includes waiting for a core, the CPU time does not.
 */
function cpuMs(): { all: number; tools: number } {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // utime, stime, cutime, cstime: fields 14-17 of stat(5), in clock ticks (100 per second).
  const tools = (Number(f[13]) + Number(f[14])) * 10;
  return { all: (Number(f[11]) + Number(f[12])) * 10 + tools, tools };
}

interface Sample {
  wall: number;
  cpu: number;
  /** Of which the tools' (iptables-restore, nft). */
  tools: number;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const stat = (xs: Sample[]) =>
  `median ${median(xs.map((x) => x.wall)).toFixed(0)} ms, max ${Math.max(...xs.map((x) => x.wall)).toFixed(0)} ms ` +
  `(CPU median ${median(xs.map((x) => x.cpu)).toFixed(0)} ms, of which the tools ${median(xs.map((x) => x.tools)).toFixed(0)} ms)`;
const fmt = (n: number) => n.toLocaleString('en-US');

/** Inside the namespace: one mode, one size. */
async function measure(mode: Mode, n: number): Promise<void> {
  const services = new Map(Array.from({ length: n }, (_, i) => [`bench/svc-${i}`, service(i)]));
  const slices = new Map(Array.from({ length: n }, (_, i) => [`bench/svc-${i}`, [slice(i)]]));
  // What the informers feed kube-proxy: the tracker recomputes only the Services it is told changed.
  const tracker = new ModelTracker();
  const source = { service: (k: string) => services.get(k), slices: (k: string) => slices.get(k) ?? [], serviceKeys: () => services.keys() };
  const iptables = mode !== 'nftables';
  const newProxier = (): Proxier =>
    iptables
      ? new IptablesProxier(spawnExec, { localhostNodePorts: true }, mode === 'iptables-legacy' ? 'legacy' : 'nft')
      : new NftablesProxier(spawnExec, { serviceCIDRs: ['10.96.0.0/12'] });
  let proxier = newProxier();
  let rules = 0;
  let deleted = 0;
  const sync = async (full: boolean): Promise<Sample> => {
    const c0 = cpuMs();
    const t0 = performance.now();
    const r = await proxier.sync(tracker.entries(source), NODE, full);
    const c1 = cpuMs();
    const ms = { wall: performance.now() - t0, cpu: c1.all - c0.all, tools: c1.tools - c0.tools };
    rules = r.ruleCounts?.nat ?? rules;
    deleted = r.deletedChains;
    if (!full && (r.full || r.changed !== 1)) throw new Error(`expected a partial sync of one Service, got ${JSON.stringify(r)}`);
    return ms;
  };
  const first = await sync(true);
  const full: Sample[] = [];
  const fullRuns = iptables ? FULL_RUNS : NFT_FULL_RUNS;
  for (let i = 0; i < fullRuns; i++) full.push(await sync(true));
  if (iptables) {
    // What the kernel holds is what was written (iptables-nft's full syncs come in several transactions); the jumps
    // from the built-in chains are not part of the restore input.
    const saved = spawnSync(`${mode}-save`, ['-t', 'nat'], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout;
    const held = saved.split('\n').filter((l) => l.startsWith('-A KUBE-')).length;
    if (held !== rules) throw new Error(`the nat table holds ${held} rules after the full syncs, ${rules} were written`);
  }
  const restart: Sample[] = [];
  for (let i = 0; iptables && i < RESTART_RUNS; i++) {
    proxier = newProxier();
    restart.push(await sync(true));
  }
  const partial: Sample[] = [];
  const deleting: Sample[] = [];
  const runs = PARTIAL_RUNS;
  const change = (i: number) => {
    const k = (i * 7919) % n; // a different Service each time, spread over the table
    slices.set(`bench/svc-${k}`, [slice(k, i + 1)]);
    tracker.changed(`bench/svc-${k}`);
  };
  for (let i = 0; i < runs; i++) {
    change(i);
    const s = await sync(false);
    // nftables: the first sync a second after another deletes the chains that one flushed (the bench's syncs come
    // back to back, so rarely). An iptables partial sync deletes the replaced endpoint's chain in its own restore:
    // that is every partial sync there, so it counts as one.
    (!iptables && deleted > 0 ? deleting : partial).push(s);
  }
  for (let i = 0; !iptables && i < DELETING_RUNS; i++) {
    // As kube-proxy's syncs come at most one per --min-sync-period (1 s): the chains the last one flushed are due.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    change(runs + i);
    deleting.push(await sync(false));
    if (deleted === 0) throw new Error('expected the chains flushed a second before to be deleted');
  }
  const what = `${fmt(n)} Services × ${ENDPOINTS} endpoints`;
  if (iptables) {
    console.log(
      `${mode} sync, ${what} (${fmt(rules)} nat rules): first ${first.wall.toFixed(0)} ms (CPU ${first.cpu} ms); full resync ${stat(full)} (${fullRuns} runs); ` +
        `after a restart (tables read back) ${stat(restart)} (${RESTART_RUNS} runs); partial, one Service's endpoints changed: ${stat(partial)} (${runs} runs)`,
    );
  } else {
    console.log(
      `nftables sync, ${what} (one transaction each): first ${first.wall.toFixed(0)} ms (CPU ${first.cpu} ms); full resync ${stat(full)} (${fullRuns} runs); ` +
        `partial, one Service's endpoints changed: ${stat(partial)} (${partial.length} runs); ` +
        `partial that also deletes the chains flushed 1 s before: ${stat(deleting)} (${deleting.length} runs); load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
  }
}

/**
 * Outside: a fresh namespace per mode and size, this file run inside it, the namespace removed (also when the
 * bench is interrupted). Arguments, if any, pick the modes: `proxy-sync.ts nftables`.
 */
async function outside(): Promise<void> {
  const ip = (...a: string[]) => spawnSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  let child: ChildProcess | undefined;
  const interrupted = () => {
    child?.kill('SIGTERM');
    ip('netns', 'del', NETNS);
    process.exit(130);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  const picked = process.argv.slice(2);
  for (const mode of MODES.filter((m) => picked.length === 0 || picked.includes(m))) {
    for (const n of SIZES) {
      ip('netns', 'del', NETNS); // a previous run's, if it was killed
      if (ip('netns', 'add', NETNS).status !== 0) throw new Error(`cannot create network namespace ${NETNS} (run as root)`);
      try {
        const c = spawn('ip', ['netns', 'exec', NETNS, process.execPath, ...process.execArgv, process.argv[1], INSIDE, mode, String(n)], { stdio: 'inherit' });
        child = c;
        const code = await new Promise<number | null>((resolve) => c.once('exit', resolve));
        if (code !== 0) process.exitCode = 1;
      } finally {
        ip('netns', 'del', NETNS);
      }
    }
  }
}

const at = process.argv.indexOf(INSIDE);
if (at >= 0) await measure(process.argv[at + 1] as Mode, Number(process.argv[at + 2]));
else await outside();
