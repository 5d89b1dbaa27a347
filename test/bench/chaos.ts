/**
 * Node failover under the fast profile, as `kemu chaos kill NODE --watch --json` reports it: a 3-node cluster runs
 * a Deployment of nginx behind a Service; the node with the most replicas is killed while the built-in probe calls
 * the Service from another node, and the report gives, in seconds after the kill:
 *   NotReady   the node marked NotReady (Unknown) by the node lifecycle controller,
 *   endpoints  no Service sending to it any more,
 *   ready      every replica Ready again (none on the dead node),
 * and the share of the probe's requests that failed meanwhile. The node is started again between runs.
 * Targets (issue 11): NotReady < 5 s, replicas Ready < 15 s, under 10% of requests failed.
 * Run: npm run bench:chaos   (as root; KEMU_BENCH_RUNS, KEMU_BENCH_PROJECT and KEMU_BENCH_SUBNET to change the defaults)
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { PodList } from 'kubernetes-types/core/v1.js';
import { withBenchHome } from './cluster.js';

const CLI = resolve(import.meta.dirname, '../../services/cli/dist/bundle.mjs');
const RUNS = Number(process.env.KEMU_BENCH_RUNS ?? 3);
const PROJECT = process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench-chaos';
const SUBNET = process.env.KEMU_BENCH_SUBNET ?? '172.31';
const REPLICAS = 6;

interface Report {
  milestones: { nodeNotReady?: number; endpointsUpdated?: number; replicasReady?: number };
  verdict: { recovered: boolean };
  probes: { service: string; sent: number; failed: number }[];
}
interface Run {
  notReady?: number;
  endpoints?: number;
  ready?: number;
  failed: number;
  load: number;
}

// Every step is a blocking kemu or kubectl call: the body is synchronous.
await withBenchHome(PROJECT, SUBNET, ({ home, env, kemu }) => {
  const kubeconfig = join(home, PROJECT, 'kubeconfig');
  const kubectl = (...a: string[]) => execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...a], { encoding: 'utf8' });
  const chaos = (verb: string, node: string) =>
    JSON.parse(
      execFileSync(process.execPath, [CLI, '-p', PROJECT, '--subnet', SUBNET, 'chaos', verb, node, '--watch', '--json', '--timeout', '120s'], {
        env,
        encoding: 'utf8',
      }),
    ) as Report;
  kemu('up', '--nodes', '3', '--profile', 'fast');
  kubectl('create', 'deployment', 'web', '--image=nginx', `--replicas=${REPLICAS}`, '--port=80');
  kubectl('expose', 'deployment', 'web', '--port=80');
  kubectl('rollout', 'status', 'deployment/web', '--timeout=180s');
  const runs: Run[] = [];
  console.log(`kemu chaos kill NODE (fast profile, ${REPLICAS} nginx replicas on 3 nodes), ${RUNS} runs; seconds after the kill`);
  console.log('run   NotReady  endpoints    ready   failed   load');
  for (let i = 1; i <= RUNS; i++) {
    const pods = (JSON.parse(kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')) as PodList).items;
    const count = new Map<string, number>();
    for (const p of pods) count.set(p.spec!.nodeName!, (count.get(p.spec!.nodeName!) ?? 0) + 1);
    const victim = [...count].sort((a, b) => b[1] - a[1])[0][0];
    const load = loadavg()[0] ?? 0;
    const r = chaos('kill', victim);
    const web = r.probes.find((p) => p.service === 'default/web');
    const run: Run = {
      notReady: r.milestones.nodeNotReady,
      endpoints: r.milestones.endpointsUpdated,
      ready: r.verdict.recovered ? r.milestones.replicasReady : undefined,
      failed: web && web.sent ? web.failed / web.sent : 0,
      load,
    };
    runs.push(run);
    const s = (ms: number | undefined) => (ms === undefined ? '     -  ' : `${(ms / 1000).toFixed(1).padStart(7)}s`);
    console.log(
      `${String(i).padEnd(4)}${s(run.notReady)}  ${s(run.endpoints)} ${s(run.ready)}  ${(100 * run.failed).toFixed(1).padStart(5)}%  ${load.toFixed(1).padStart(5)}  (${victim})`,
    );
    chaos('start', victim);
    kubectl('rollout', 'status', 'deployment/web', '--timeout=180s');
  }
  const median = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    return v.length ? v[Math.floor((v.length - 1) / 2)] : undefined;
  };
  const m = { notReady: median(runs.map((r) => r.notReady)), ready: median(runs.map((r) => r.ready)), failed: median(runs.map((r) => r.failed)) };
  console.log(
    `median: NotReady ${((m.notReady ?? NaN) / 1000).toFixed(1)} s (target < 5), replicas Ready ${((m.ready ?? NaN) / 1000).toFixed(1)} s (target < 15), ` +
      `failed ${(100 * (m.failed ?? 0)).toFixed(1)}% (target < 10%)`,
  );
  return Promise.resolve();
});
