/**
 * Ingress benchmark on a cluster from `kemu up` (3 nodes, the ingress-nginx
 * add-on): requests per second and p99 latency of Debian's wrk from the host
 * through the ingress controller (its Service's NodePort, Host header of the
 * Ingress) against the same backend Service called directly (its own
 * NodePort): an nginx Deployment of 2 replicas serving its welcome page. The
 * two alternate over several rounds on the same cluster, so a busy machine
 * slows both alike; the medians and their ratio are printed (target ≥ 0.7).
 * Run as root: npx tsx test/bench/ingress.ts
 * (KEMU_BENCH_PROJECT / KEMU_BENCH_SUBNET: the cluster's name and subnet; ROUNDS, DURATION (seconds), CONNECTIONS.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { withCluster, type BenchCluster } from './cluster.js';

const PROJECT = process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench-ingress';
const SUBNET = process.env.KEMU_BENCH_SUBNET ?? '172.30';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const HOST = 'bench.example';

interface Run {
  rps: number;
  p99ms: number;
}

/** wrk's "Requests/sec:" and the 99% line of its --latency distribution. */
function parseWrk(out: string): Run {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const m = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  if (!m || !Number.isFinite(rps)) throw new Error(`unexpected wrk output:\n${out}`);
  const p99ms = Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  return { rps, p99ms };
}

function wrk(url: string, host?: string): Run {
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${DURATION}s`, '--latency', ...(host ? ['-H', `Host: ${host}`] : []), url];
  const r = spawnSync('wrk', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.error?.message}`);
  return parseWrk(r.stdout);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main({ state }: BenchCluster): Promise<void> {
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is not installed (apt-get install wrk)');
  const kubectl = (...args: string[]) => execFileSync('kubectl', ['--kubeconfig', join(state, 'kubeconfig'), ...args], { encoding: 'utf8' });
  kubectl('rollout', 'status', '-n', 'ingress-nginx', 'deploy/ingress-nginx-controller', '--timeout=180s');
  // The backend and its Ingress as a user makes them with kubectl alone.
  const ns = ['-n', 'bench-ingress'];
  kubectl('create', 'namespace', 'bench-ingress');
  kubectl('create', 'deployment', 'web', '--image=nginx', '--replicas=2', ...ns);
  kubectl('expose', 'deployment', 'web', '--port=80', '--type=NodePort', ...ns);
  kubectl('create', 'ingress', 'web', `--rule=${HOST}/*=web:80`, ...ns);
  kubectl('rollout', 'status', 'deploy/web', '--timeout=180s', ...ns);
  const nodePort = (namespace: string, svc: string) => kubectl('get', 'svc', '-n', namespace, svc, '-o', 'jsonpath={.spec.ports[0].nodePort}').trim();
  const node = `${SUBNET}.1.1`;
  const direct = `http://${node}:${nodePort('bench-ingress', 'web')}/`;
  const viaIngress = `http://${node}:${nodePort('ingress-nginx', 'ingress-nginx-controller')}/`;
  // Running is not listening yet, and the controller reloads a moment after the Ingress: both must answer.
  for (const [url, host] of [
    [direct, ''],
    [viaIngress, HOST],
  ]) {
    for (let i = 0; ; i++) {
      const code = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '2', ...(host ? ['-H', `Host: ${host}`] : []), url], {
        encoding: 'utf8',
      }).stdout;
      if (code === '200') break;
      if (i > 120) throw new Error(`${url} does not answer (${code})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  wrk(direct); // warm both paths: connections, upstream keepalive, page cache
  wrk(viaIngress, HOST);
  const runs: { direct: Run; ingress: Run }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const d = wrk(direct);
    const i = wrk(viaIngress, HOST);
    runs.push({ direct: d, ingress: i });
    console.log(
      `round ${r + 1}: direct ${d.rps.toFixed(0)} req/s p99 ${d.p99ms.toFixed(1)} ms | ingress ${i.rps.toFixed(0)} req/s p99 ${i.p99ms.toFixed(1)} ms`,
    );
  }
  const d = { rps: median(runs.map((x) => x.direct.rps)), p99: median(runs.map((x) => x.direct.p99ms)) };
  const i = { rps: median(runs.map((x) => x.ingress.rps)), p99: median(runs.map((x) => x.ingress.p99ms)) };
  console.log(`\nwrk -t2 -c${CONNECTIONS} -d${DURATION}s, ${ROUNDS} rounds, medians (nginx backend, 2 replicas; load average ${loadavg()}):`);
  console.log(`  direct (Service NodePort)     ${d.rps.toFixed(0).padStart(7)} req/s   p99 ${d.p99.toFixed(1)} ms`);
  console.log(`  through the ingress (NodePort) ${i.rps.toFixed(0).padStart(6)} req/s   p99 ${i.p99.toFixed(1)} ms`);
  console.log(`  ratio ${(i.rps / d.rps).toFixed(2)} of direct (target >= 0.7)`);
}

const loadavg = () => execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');

await withCluster(PROJECT, SUBNET, main);
