/**
 * Scheduler benchmark against a real cluster from `kemu up`: scheduler
 * throughput (pods bound per second) for 1,000 pending pods over 100 and
 * 1,000 nodes, and the time for a Deployment of 1,000 replicas to have all
 * its pods created and bound. Nodes are registered through the API.
 * Run: npm run bench:scheduler   (as root)
 */
import { withCluster, type BenchCluster } from './cluster.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '@kemu/client';
import type { Pod } from 'kubernetes-types/core/v1.js';

const PODS = { version: 'v1', resource: 'pods' };
const NODES = { version: 'v1', resource: 'nodes' };

async function inBatches<T>(n: number, size: number, fn: (i: number) => Promise<T>): Promise<void> {
  for (let i = 0; i < n; i += size) await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => fn(i + j)));
}

async function registerNodes(c: ApiClient, from: number, to: number): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await inBatches(to - from, 100, (i) =>
    c.create(NODES, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: `node-${from + i}`, labels: { 'kubernetes.io/hostname': `node-${from + i}` } },
      status: {
        allocatable: { cpu: '32', memory: '64Gi', pods: '110' },
        capacity: { cpu: '32', memory: '64Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    }),
  );
}

/** Watch a namespace's pods; resolves with bind times once `count` pods are bound. */
function watchBinds(c: ApiClient, ns: string, count: number): { done: Promise<number[]>; stop: () => void } {
  const ac = new AbortController();
  const bound = new Map<string, number>();
  const done = (async () => {
    for await (const ev of c.watch({ ...PODS, namespace: ns }, { resourceVersion: '0', signal: ac.signal })) {
      if ((ev.object as Pod).spec?.nodeName && !bound.has(ev.object.metadata.name!)) bound.set(ev.object.metadata.name!, performance.now());
      if (bound.size >= count) break;
    }
    return [...bound.values()];
  })();
  return { done, stop: () => ac.abort() };
}

function schedulerPid(state: string): number {
  return Number(readFileSync(join(state, 'pids', 'scheduler.pid'), 'utf8'));
}

/**
 * 1,000 pods created while the scheduler is stopped, then the scheduler
 * started: throughput is counted from its first binding to its last.
 */
async function pendingPods(c: ApiClient, { state, kemu }: BenchCluster, nodes: number): Promise<string> {
  const ns = `bench-${nodes}`;
  await c.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const pid = schedulerPid(state);
  process.kill(-pid, 'SIGTERM');
  while (
    (() => {
      try {
        process.kill(pid, 0);
        return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
      } catch {
        return false;
      }
    })()
  )
    await new Promise((r) => setTimeout(r, 50));
  await inBatches(1000, 50, (i) =>
    c.create(
      { ...PODS, namespace: ns },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p-${i}`, labels: { app: 'bench' } },
        spec: { containers: [{ name: 'c', image: 'pause', resources: { requests: { cpu: '10m', memory: '10Mi' } } }] },
      },
    ),
  );
  const w = watchBinds(c, ns, 1000);
  const t0 = performance.now();
  kemu('start');
  const binds = (await w.done).sort((a, b) => a - b);
  w.stop();
  const span = (binds[binds.length - 1] - binds[0]) / 1000;
  return `1,000 pending pods over ${nodes} nodes: scheduler throughput ${(1000 / span).toFixed(0)} pods/s (first to last binding, ${span.toFixed(2)} s); ${((binds[binds.length - 1] - t0) / 1000).toFixed(2)} s from scheduler start to the last binding`;
}

async function main({ state, kemu }: BenchCluster): Promise<void> {
  const c = new ApiClient({
    address: '172.30.0.3:6444',
    ca: readFileSync(join(state, 'pki', 'ca.crt')),
    token: readFileSync(join(state, 'pki', 'admin.token'), 'utf8').trim(),
  });
  await registerNodes(c, 0, 100);
  await new Promise((r) => setTimeout(r, 1000));
  console.log(await pendingPods(c, { state, kemu }, 100));
  await registerNodes(c, 100, 1000);
  await new Promise((r) => setTimeout(r, 2000));
  console.log(await pendingPods(c, { state, kemu }, 1000));

  const ns = 'bench-deploy';
  await c.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const w = watchBinds(c, ns, 1000);
  const t0 = performance.now();
  await c.create(
    { group: 'apps', version: 'v1', resource: 'deployments', namespace: ns },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'big' },
      spec: {
        replicas: 1000,
        selector: { matchLabels: { app: 'big' } },
        template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'c', image: 'pause' }] } },
      },
    },
  );
  const binds = await w.done;
  w.stop();
  console.log(`Deployment of 1,000 replicas over 1,000 nodes: all pods created and bound in ${((Math.max(...binds) - t0) / 1000).toFixed(2)} s`);
  c.close();
}

await withCluster('kemu-bench-sched', '172.30', main, 0);
