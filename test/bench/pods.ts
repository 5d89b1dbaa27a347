/**
 * Pod startup benchmark on a cluster from `kemu up` (3 nodes): latency from
 * create to Running-and-Ready (seen through a watch) for 100 pods, and
 * memory: each kubelet's RSS, and a simple pod's (pause), an nginx pod's and a redis pod's.
 * Run: npm run bench:pods   (as root)
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '@kemu/client';
import type { KubeObject } from '@kemu/api';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { withCluster, type BenchCluster } from './cluster.js';

const PODS = { version: 'v1', resource: 'pods' };
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
/**
 * RSS; PSS (shared pages split among their users: what a process costs a node running many); anonymous memory (its
 * own heap and stacks, without the program's file pages — what a memory cgroup is charged for a process whose binary
 * is already in the page cache, so close to what `kubectl top` shows). In kB.
 */
type Mem = { rss: number; pss: number; anon: number };
function memKb(pid: number): Mem {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0);
    return { rss: field('Rss'), pss: field('Pss'), anon: field('Anonymous') };
  } catch {
    return { rss: 0, pss: 0, anon: 0 };
  }
}
/** A container: every process of its process group (the runtime's shell, the program, what it started). */
function containerMem(pid: number): Mem {
  const pgid = Number(
    execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)])
      .toString()
      .trim(),
  );
  const pids = execFileSync('ps', ['-eo', 'pid=,pgid='])
    .toString()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter(([, g]) => g === pgid)
    .map(([p]) => p);
  return pids.map(memKb).reduce((a, b) => ({ rss: a.rss + b.rss, pss: a.pss + b.pss, anon: a.anon + b.anon }), { rss: 0, pss: 0, anon: 0 });
}
/** A pod (from the pods resource) is Ready. */
const podReady = (o: KubeObject) => ((o as Pod).status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
/** The program of a pod's first container, from its node's runtime state (machine-wide pgrep would see other clusters' pods). */
function programPid(state: string, uid: string): number {
  for (const node of readdirSync(join(state, 'nodes'))) {
    try {
      return Number(readFileSync(join(state, 'nodes', node, 'containers', `${uid.slice(0, 8)}-c-0`, 'pid'), 'utf8').trim());
    } catch {
      /* another node's */
    }
  }
  throw new Error(`no container of pod ${uid}`);
}

async function main({ state }: BenchCluster): Promise<void> {
  const c = new ApiClient({
    address: '172.30.0.3:6444',
    ca: readFileSync(join(state, 'pki', 'ca.crt')),
    token: readFileSync(join(state, 'pki', 'admin.token'), 'utf8').trim(),
  });
  const ns = 'bench-pods';
  await c.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  // The nodes need their podCIDRs before pods can start.
  for (let i = 0; i < 100 && (await c.list({ version: 'v1', resource: 'nodes' })).items.filter((n) => (n as Node).spec?.podCIDR).length < 3; i++)
    await new Promise((r) => setTimeout(r, 200));
  const created = new Map<string, number>();
  const ready = new Map<string, number>();
  const ac = new AbortController();
  const watching = (async () => {
    for await (const ev of c.watch({ ...PODS, namespace: ns }, { resourceVersion: '0', signal: ac.signal })) {
      const name = ev.object.metadata.name!;
      const isReady = podReady(ev.object);
      if (isReady && !ready.has(name)) ready.set(name, performance.now());
      if (ready.size >= 100) break;
    }
  })();
  // 100 pods at a steady 10 per second (the startup latency a user sees), then 100 more in one burst (the queueing a
  // 2-core machine adds when everything arrives at once).
  const create = async (name: string) => {
    created.set(name, performance.now());
    await c.create(
      { ...PODS, namespace: ns },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } },
    );
  };
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) {
    const wait = t0 + i * 100 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    void create(`p-${i}`);
  }
  await watching;
  ac.abort();
  const lat = [...ready].map(([n, t]) => t - created.get(n)!);
  console.log(
    `pod startup (create → Running and Ready, seen through a watch), 100 pause pods at 10/s on 3 nodes: p50 ${q(lat, 0.5).toFixed(0)} ms, p99 ${q(lat, 0.99).toFixed(0)} ms`,
  );
  const burstReady = new Map<string, number>();
  const ac2 = new AbortController();
  const watching2 = (async () => {
    for await (const ev of c.watch({ ...PODS, namespace: ns }, { resourceVersion: '0', signal: ac2.signal })) {
      const name = ev.object.metadata.name!;
      if (!name.startsWith('b-')) continue;
      if (podReady(ev.object) && !burstReady.has(name)) burstReady.set(name, performance.now());
      if (burstReady.size >= 100) break;
    }
  })();
  await Promise.all(Array.from({ length: 100 }, (_, i) => create(`b-${i}`)));
  await watching2;
  ac2.abort();
  const burst = [...burstReady].map(([n, t]) => t - created.get(n)!);
  console.log(`the same, 100 more created at once: p50 ${q(burst, 0.5).toFixed(0)} ms, p99 ${q(burst, 0.99).toFixed(0)} ms`);
  const kubelets = [1, 2, 3].map((i) => memKb(Number(readFileSync(join(state, 'pids', `node-${i}.pid`), 'utf8'))));
  console.log(
    `kubelet with ~67 pods each: RSS ${kubelets.map((k) => mb(k.rss)).join(', ')}; PSS ${kubelets.map((k) => mb(k.pss)).join(', ')}; anonymous ${kubelets.map((k) => mb(k.anon)).join(', ')}`,
  );
  // A pod's memory: its container's process group (pause: the runtime's shell, a shell and a sleep).
  const pausePids = execFileSync('pgrep', ['-f', 'pause/pause.sh']).toString().trim().split('\n').map(Number);
  const pause = containerMem(pausePids[0]);
  console.log(`simple (pause) pod: RSS ${mb(pause.rss)}, PSS ${mb(pause.pss)}, anonymous ${mb(pause.anon)}`);
  // The real programs: Debian's nginx (a master and a worker per CPU) and redis-server.
  for (const [name, image] of [
    ['nginx', 'nginx'],
    ['redis', 'redis'],
  ]) {
    await c.create({ ...PODS, namespace: ns }, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image }] } });
    let uid = '';
    for (let i = 0; i < 100; i++) {
      const p = (await c.get({ ...PODS, namespace: ns }, name)) as Pod;
      uid = p.metadata?.uid ?? '';
      if (p.status?.phase === 'Running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000)); // past the entrypoint, the program up
    const mem = containerMem(programPid(state, uid));
    console.log(`${name} pod: RSS ${mb(mem.rss)}, PSS ${mb(mem.pss)}, anonymous ${mb(mem.anon)}`);
  }
  c.close();
}

await withCluster('kemu-bench-pods', '172.30', main);
