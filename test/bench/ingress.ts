/**
 * Ingress benchmark on a cluster from `kemu up` (3 nodes, the ingress-nginx
 * add-on): requests per second and p99 latency of Debian's wrk from the host
 * through the ingress controller (its LoadBalancer Service's EXTERNAL-IP, the
 * Ingress's Host header) against the same backend Service called directly (a
 * LoadBalancer Service of its own, as a user would expose it without an
 * ingress), for two backends of 2 replicas: nginx serving its welcome page,
 * and an application (agnhost serve-hostname). Direct and ingress runs
 * alternate over several rounds on the same cluster, so a busy machine slows
 * both alike; medians and their ratio are printed (target ≥ 0.7). The
 * controller's Service has externalTrafficPolicy Local, as ingress-nginx's
 * manifest gives it: its address is announced from a node running a
 * controller, which takes the request itself; the backends' Services keep the
 * default (Cluster), so either path may cross to another node once.
 *
 * On a machine others share, requests per second say as much about their
 * load as about ours; so each run also counts the CPU time spent per request
 * by wrk and the cluster's own processes (those in its network namespaces:
 * pods, kubelets, control plane), kernel work done in their system calls
 * included, which others' load changes little: the ratio of those costs is
 * about the ratio of what the cluster could serve with the machine to itself.
 *
 * Run as root: npx tsx test/bench/ingress.ts
 * (KEMU_BENCH_PROJECT / KEMU_BENCH_SUBNET: the cluster's name and subnet; ROUNDS, DURATION (seconds), CONNECTIONS.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withCluster, type BenchCluster } from './cluster.js';

const PROJECT = process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench-ingress';
const SUBNET = process.env.KEMU_BENCH_SUBNET ?? '172.30';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const NS = 'bench-ingress';

interface Run {
  rps: number;
  p99ms: number;
  /** CPU of wrk and the cluster's processes per request, µs. */
  cpuUs: number;
}

/** wrk's request count, "Requests/sec:" and the 99% line of its --latency distribution. */
function parseWrk(out: string): { requests: number; rps: number; p99ms: number } {
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const m = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  if (!m || !Number.isFinite(rps) || !Number.isFinite(requests)) throw new Error(`unexpected wrk output:\n${out}`);
  return { requests, rps, p99ms: Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) };
}

/** The processes of the cluster: every pid in one of its network namespaces. */
function clusterPids(): number[] {
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`${PROJECT}-`));
  return namespaces.flatMap((n) => execFileSync('ip', ['netns', 'pids', n], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number));
}

/** utime + stime of a process, in clock ticks (0 once it is gone). */
function ticks(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** The user and system time of a shell's children, from bash's `times` (its second line: `0m1.234s 0m0.567s`). */
function childSeconds(out: string): number {
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trim().split('\n').at(-1) ?? '');
  if (!m) throw new Error(`unexpected output of times: ${out}`);
  return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
}

function wrk(url: string, host: string): Run {
  const pids = clusterPids();
  const before = pids.map(ticks);
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${DURATION}s`, '--latency', ...(host ? ['-H', `Host: ${host}`] : []), url];
  // Through bash, whose `times` then says what wrk itself spent.
  const r = spawnSync('bash', ['-c', 'wrk "$@" && times', 'wrk', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.error?.message}`);
  // Clock ticks are 1/100 s on Linux (USER_HZ).
  const cluster = pids.reduce((sum, p, i) => sum + Math.max(0, ticks(p) - before[i]), 0) / 100;
  const w = parseWrk(r.stdout);
  return { rps: w.rps, p99ms: w.p99ms, cpuUs: ((cluster + childSeconds(r.stdout)) * 1e6) / w.requests };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Until `url` answers 200 (Running is not listening, and the controller reloads a moment after an Ingress). */
async function answers(url: string, host: string): Promise<void> {
  for (let i = 0; ; i++) {
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '2', ...(host ? ['-H', `Host: ${host}`] : []), url], {
      encoding: 'utf8',
    });
    if (r.stdout === '200') return;
    if (i > 120) throw new Error(`${url} does not answer (${r.stdout})`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

interface Backend {
  name: string;
  what: string;
  /** `kubectl create deployment` arguments after the name. */
  create: string[];
}

const BACKENDS: Backend[] = [
  { name: 'web', what: 'nginx, welcome page', create: ['--image=nginx', '--port=80'] },
  {
    name: 'app',
    what: 'agnhost serve-hostname',
    create: ['--image=registry.k8s.io/e2e-test-images/agnhost:2.52', '--', '/agnhost', 'serve-hostname', '--port=80'],
  },
];

async function main({ state }: BenchCluster): Promise<void> {
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is not installed (apt-get install wrk)');
  const kubeconfig = join(state, 'kubeconfig');
  const kubectl = (...args: string[]) => execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
  kubectl('rollout', 'status', '-n', 'ingress-nginx', 'deploy/ingress-nginx-controller', '--timeout=180s');
  kubectl('create', 'namespace', NS);
  const paths = (b: Backend) => ({ path: '/', pathType: 'Prefix', backend: { service: { name: b.name, port: { number: 80 } } } });
  // Applied, not `kubectl create ingress`: kemu's api-server does not decode that command's protobuf body yet.
  const ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'bench', namespace: NS },
    spec: { rules: BACKENDS.map((b) => ({ host: `${b.name}.example`, http: { paths: [paths(b)] } })) },
  };
  for (const b of BACKENDS) {
    kubectl('create', 'deployment', b.name, '--replicas=2', '-n', NS, ...b.create);
    kubectl('expose', 'deployment', b.name, '--port=80', '--type=LoadBalancer', '-n', NS);
  }
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: JSON.stringify(ingress) });
  for (const b of BACKENDS) kubectl('rollout', 'status', `deploy/${b.name}`, '-n', NS, '--timeout=180s');
  const externalIP = async (ns: string, svc: string): Promise<string> => {
    for (let i = 0; i < 120; i++) {
      const ip = kubectl('get', 'svc', '-n', ns, svc, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}').trim();
      if (ip) return ip;
      await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error(`${ns}/${svc} has no EXTERNAL-IP`);
  };
  const viaIngress = `http://${await externalIP('ingress-nginx', 'ingress-nginx-controller')}/`;
  const summary: string[] = [];
  for (const b of BACKENDS) {
    const direct = `http://${await externalIP(NS, b.name)}/`;
    const host = `${b.name}.example`;
    await answers(direct, '');
    await answers(viaIngress, host);
    wrk(direct, ''); // warm both paths: connections, upstream keepalive, caches
    wrk(viaIngress, host);
    const runs: { d: Run; i: Run }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const d = wrk(direct, '');
      const i = wrk(viaIngress, host);
      runs.push({ d, i });
      const show = (x: Run) => `${x.rps.toFixed(0)} req/s p99 ${x.p99ms.toFixed(1)} ms ${x.cpuUs.toFixed(0)} µs/req`;
      console.log(`${b.name} round ${r + 1}: direct ${show(d)} | ingress ${show(i)}`);
    }
    const med = (pick: (x: { d: Run; i: Run }) => number) => median(runs.map(pick));
    const [d, i] = [
      { rps: med((x) => x.d.rps), p99: med((x) => x.d.p99ms), cpu: med((x) => x.d.cpuUs) },
      { rps: med((x) => x.i.rps), p99: med((x) => x.i.p99ms), cpu: med((x) => x.i.cpuUs) },
    ];
    summary.push(
      `${b.what} (2 replicas):`,
      `  direct (its LoadBalancer)       ${d.rps.toFixed(0).padStart(6)} req/s   p99 ${d.p99.toFixed(1).padStart(6)} ms   ${d.cpu.toFixed(0)} µs CPU/request`,
      `  through the ingress             ${i.rps.toFixed(0).padStart(6)} req/s   p99 ${i.p99.toFixed(1).padStart(6)} ms   ${i.cpu.toFixed(0)} µs CPU/request`,
      `  ratio: ${(i.rps / d.rps).toFixed(2)} of direct requests/s (median of the per-round ratios ${median(runs.map((x) => x.i.rps / x.d.rps)).toFixed(2)}); ` +
        `${(d.cpu / i.cpu).toFixed(2)} by CPU cost`,
    );
  }
  console.log(`\nwrk -t2 -c${CONNECTIONS} -d${DURATION}s from the host, ${ROUNDS} rounds, medians; load average ${loadavg()} (target >= 0.7):`);
  console.log(summary.join('\n'));
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

await withCluster(PROJECT, SUBNET, main);
