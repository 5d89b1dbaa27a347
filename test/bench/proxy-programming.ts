/**
 * Network programming latency on a cluster from `kemu up` (3 nodes): 100 selectorless Services of 10 endpoints
 * each, then churn — one endpoint of one Service replaced by a new address (a pod replaced), Service after
 * Service, at a steady rate. The bench writes the EndpointSlices itself, annotated with the time of the change
 * (endpoints.kubernetes.io/last-change-trigger-time, as the EndpointSlice controller does), so what is timed is
 * the api-server, the watch and kube-proxy: from the write to the new endpoint's DNAT rule in each node's kernel.
 * Two views of the same changes:
 *   - the bench's: `nft monitor` in every node's network namespace reports each rule the moment the kernel
 *     commits it (iptables-nft rules are nf_tables rules too); latency = that moment − the write;
 *   - kube-proxy's own kubeproxy_network_programming_duration_seconds histograms (Kubernetes' buckets: 0.25 s,
 *     0.5 s, 1 s, 2 s, ...), the difference over the churn, all nodes together.
 * Changes arrive at random (a Poisson process, seeded) at two mean rates: 1 change/s (most changes synced on their
 * own) and 10 changes/s (changes batched by kube-proxy's --min-sync-period: 500 ms in the fast profile, 1 s in
 * stock). A fixed period would lock onto the sync period and measure one phase. iptables mode, then nftables (switched with `kemu up --proxy-mode`).
 * Pods are not involved: the EndpointSlice controller's trigger time is a pod's Ready transition, which the kubelet
 * writes in whole seconds (as in Kubernetes), too coarse for a sub-second measure.
 * Run: npm run bench:proxy-programming   (as root; about 6 minutes)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ApiClient } from '@kemu/client';
import type { KubeObject } from '@kemu/api';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { withCluster, type BenchCluster } from './cluster.js';

const PROJECT = process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench-proxy';
const SUBNET = process.env.KEMU_BENCH_SUBNET ?? '172.30';
const NODES = 3;
const SERVICES = 100;
const ENDPOINTS = 10;
const NS = 'bench-proxy';
const PORT = 8080;
const SLICES = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: NS };
const RATES = [
  { perSecond: 1, seconds: 60 },
  { perSecond: 10, seconds: 30 },
];

/** The n-th endpoint address ever handed out: in the pod network, outside the nodes' podCIDRs; never reused. */
let handedOut = 0;
const freshAddress = () => {
  const n = handedOut++;
  return `10.244.${128 + Math.floor(n / 256)}.${n % 256}`;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded generator, so every run churns on the same schedule. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

/**
 * `nft monitor new rules` in one node's namespace: when each endpoint ("ip:port") first got a DNAT rule since
 * the last reset. Both modes' endpoint rules end in "dnat to IP:PORT".
 */
class RuleMonitor {
  private readonly proc: ChildProcess;
  private seen = new Map<string, number>();
  constructor(readonly netns: string) {
    this.proc = spawn('ip', ['netns', 'exec', netns, 'nft', 'monitor', 'new', 'rules'], { stdio: ['ignore', 'pipe', 'ignore'] });
    if (!this.proc.stdout) throw new Error('nft monitor has no stdout');
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const m = / dnat (?:ip )?to (\d+\.\d+\.\d+\.\d+:\d+)/.exec(line);
      if (m && !this.seen.has(m[1])) this.seen.set(m[1], Date.now());
    });
  }
  at(endpoint: string): number | undefined {
    return this.seen.get(endpoint);
  }
  reset(): void {
    this.seen = new Map();
  }
  stop(): void {
    this.proc.kill();
  }
}

/**
 * kube-proxy's programming-latency histogram of one node (cumulative counts per upper bound), plus its sync
 * durations: "+Inf" and the "partial"/"full" sums and counts under their own keys.
 */
type Histogram = Map<string, number>;
async function proxyMetrics(nodeIP: string): Promise<Histogram> {
  const text = await (await fetch(`http://${nodeIP}:10249/metrics`)).text();
  const h: Histogram = new Map();
  for (const m of text.matchAll(/^kubeproxy_network_programming_duration_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) h.set(m[1], Number(m[2]));
  for (const m of text.matchAll(/^kubeproxy_sync_(partial|full)_proxy_rules_duration_seconds_(sum|count) (\S+)/gm)) h.set(`${m[1]} ${m[2]}`, Number(m[3]));
  return h;
}
/** "partial syncs: mean X ms (n)" from the difference of two readings summed over nodes. */
function syncSummary(h: Histogram): string {
  const mean = (kind: string) => {
    const n = h.get(`${kind} count`) ?? 0;
    return `${kind} ${n ? (((h.get(`${kind} sum`) ?? 0) / n) * 1000).toFixed(0) : '-'} ms (${n})`;
  };
  return `kube-proxy syncs, mean duration: ${mean('partial')}, ${mean('full')}`;
}
/** The histograms of all nodes added up, minus what they held at `before`. */
function churnHistogram(after: Histogram[], before: Histogram[]): Histogram {
  const sum: Histogram = new Map();
  after.forEach((h, i) => {
    for (const [le, n] of h) sum.set(le, (sum.get(le) ?? 0) + n - (before[i]?.get(le) ?? 0));
  });
  return sum;
}
/** Prometheus' histogram_quantile: linear interpolation inside the bucket the quantile falls in. */
function histogramQuantile(h: Histogram, p: number): number {
  const buckets = [...h]
    .filter(([le]) => le === '+Inf' || !Number.isNaN(Number(le)))
    .map(([le, n]) => ({ le: le === '+Inf' ? Infinity : Number(le), n }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.n ?? 0;
  const rank = p * total;
  let prev = { le: 0, n: 0 };
  for (const b of buckets) {
    if (b.n >= rank) return b.le === Infinity ? prev.le : prev.le + ((b.le - prev.le) * (rank - prev.n)) / Math.max(1, b.n - prev.n);
    prev = b;
  }
  return NaN;
}

function slice(service: number, addresses: string[], changedAt: number): KubeObject & EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `svc-${service}-bench`,
      namespace: NS,
      labels: { 'kubernetes.io/service-name': `svc-${service}` },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(changedAt).toISOString() },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
    endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })),
  };
}

async function main({ state, kemu }: BenchCluster): Promise<void> {
  const c = new ApiClient({
    address: `${SUBNET}.0.3:6444`,
    ca: readFileSync(join(state, 'pki', 'ca.crt')),
    token: readFileSync(join(state, 'pki', 'admin.token'), 'utf8').trim(),
  });
  const monitors = Array.from({ length: NODES }, (_, i) => new RuleMonitor(`${PROJECT}-node-${i + 1}`));
  const nodeIPs = Array.from({ length: NODES }, (_, i) => `${SUBNET}.1.${i + 1}`);
  try {
    await c.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const addresses = Array.from({ length: SERVICES }, () => Array.from({ length: ENDPOINTS }, freshAddress));
    for (let s = 0; s < SERVICES; s++) {
      await c.create(
        { version: 'v1', resource: 'services', namespace: NS },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${s}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: PORT, protocol: 'TCP' }] } },
      );
    }
    const created = Date.now();
    for (let s = 0; s < SERVICES; s++) await c.create(SLICES, slice(s, addresses[s], Date.now()));

    /** Wait until every node has a rule for every current endpoint; the time it took, or undefined on timeout. */
    const allProgrammed = async (since: number, timeoutMs: number): Promise<number | undefined> => {
      const wanted = addresses.flat().map((a) => `${a}:${PORT}`);
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
        const last = monitors.map((m) => wanted.map((e) => m.at(e)));
        if (last.every((ts) => ts.every((t) => t !== undefined))) return Math.max(...last.flat().map((t) => t ?? 0)) - since;
      }
      return undefined;
    };

    const picked = process.argv.slice(2);
    for (const mode of (['iptables', 'nftables'] as const).filter((m) => picked.length === 0 || picked.includes(m))) {
      if (mode !== 'iptables') {
        monitors.forEach((m) => m.reset());
        const switched = Date.now();
        kemu('up', '--proxy-mode', mode);
        const t = await allProgrammed(switched, 120_000);
        console.log(
          `${mode}: all 1,000 endpoints programmed on ${NODES} nodes ${t === undefined ? 'NOT within 120 s' : `${(t / 1000).toFixed(1)} s after the switch`}`,
        );
      } else {
        const t = await allProgrammed(created, 120_000);
        console.log(
          `${mode}: ${SERVICES} Services × ${ENDPOINTS} endpoints written one by one, all programmed on ${NODES} nodes ${t === undefined ? 'NOT within 120 s' : `${(t / 1000).toFixed(1)} s after the first write`}`,
        );
      }
      for (const rate of RATES) {
        const before = await Promise.all(nodeIPs.map(proxyMetrics));
        const changes: { endpoint: string; at: number }[] = [];
        const writes: Promise<unknown>[] = [];
        const start = Date.now();
        const total = rate.perSecond * rate.seconds;
        const next = random(rate.perSecond);
        for (let i = 0, due = start; i < total; i++) {
          due += (-Math.log(1 - next()) * 1000) / rate.perSecond; // exponential gaps: Poisson arrivals
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait);
          const s = i % SERVICES;
          const slot = Math.floor(i / SERVICES) % ENDPOINTS;
          const ip = freshAddress();
          addresses[s][slot] = ip;
          const at = Date.now();
          changes.push({ endpoint: `${ip}:${PORT}`, at });
          writes.push(c.update(SLICES, slice(s, [...addresses[s]], at)));
        }
        await Promise.all(writes);
        await allProgrammed(start, 30_000);
        const lat: number[] = [];
        let missing = 0;
        for (const ch of changes) {
          for (const m of monitors) {
            const t = m.at(ch.endpoint);
            if (t === undefined) missing++;
            else lat.push(t - ch.at);
          }
        }
        // kube-proxy observes each change once its sync is done; let the last ones land before reading.
        await sleep(2000);
        const h = churnHistogram(await Promise.all(nodeIPs.map(proxyMetrics)), before);
        const n = h.get('+Inf') ?? 0;
        const within1s = n ? (100 * (h.get('1') ?? 0)) / n : 0;
        console.log(
          `${mode}, churn ${rate.perSecond} change/s on average for ${rate.seconds} s (${total} changes × ${NODES} nodes): write → DNAT rule in the node's kernel ` +
            `p50 ${q(lat, 0.5)} ms, p99 ${q(lat, 0.99)} ms, max ${Math.max(...lat)} ms${missing ? `, ${missing} never seen` : ''}; ` +
            `kube-proxy's histograms: ${n} observations, p50 ≈ ${(histogramQuantile(h, 0.5) * 1000).toFixed(0)} ms, p99 ≈ ${(histogramQuantile(h, 0.99) * 1000).toFixed(0)} ms, ${within1s.toFixed(1)}% ≤ 1 s; ` +
            syncSummary(h),
        );
      }
    }
  } finally {
    monitors.forEach((m) => m.stop());
    c.close();
  }
}

await withCluster(PROJECT, SUBNET, main, NODES);
