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
 * included, which others' load changes less. What the cluster spends when no
 * request comes (control plane, heartbeats) is measured just before each run
 * and taken off: charged to requests, it would make the slower path look
 * dearer per request than it is. The rest is split by where it goes (wrk, the
 * ingress controller's pods, the backends' pods, the kubelets, which copy
 * every pod's log lines, and everything else), which shows what the ingress
 * hop costs; and the bench prints where the pods run, since a request that
 * reaches a backend on another node crosses the node network once more.
 *
 * Run as root: npx tsx test/bench/ingress.ts
 * (KEMU_BENCH_PROJECT / KEMU_BENCH_SUBNET: the cluster's name and subnet; ROUNDS, DURATION and IDLE (seconds), CONNECTIONS.)
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
/** Seconds of no requests before each run, to measure what the cluster spends idle. */
const IDLE = Number(process.env.IDLE ?? 2);
const NS = 'bench-ingress';

/** Where CPU time goes: wrk, the ingress controller's pods, the backends' pods, the kubelets, everything else. */
const GROUPS = ['wrk', 'controller', 'backends', 'kubelets', 'rest'] as const;
type Group = (typeof GROUPS)[number];
type Cpu = Record<Group, number>;

interface Run {
  rps: number;
  p99ms: number;
  /** CPU per request, µs, net of what the cluster spends idle: in all and by group. */
  cpuUs: number;
  by: Cpu;
}

/** wrk's request count, "Requests/sec:" and the 99% line of its --latency distribution. */
function parseWrk(out: string): { requests: number; rps: number; p99ms: number } {
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const m = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  if (!m || !Number.isFinite(rps) || !Number.isFinite(requests)) throw new Error(`unexpected wrk output:\n${out}`);
  return { requests, rps, p99ms: Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) };
}

/**
 * The processes of the cluster (every pid in one of its network namespaces) and the group each counts in. A pod's
 * namespace is named after the first 8 characters of its uid; `pods` maps those to the pod's namespace.
 */
function clusterProcesses(pods: ReadonlyMap<string, string>): { pid: number; group: Group }[] {
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`${PROJECT}-`));
  const groupOf = (netns: string, pid: number): Group => {
    const podNs = pods.get(netns.slice(`${PROJECT}-p-`.length));
    if (netns.startsWith(`${PROJECT}-p-`) && podNs) return podNs === 'ingress-nginx' ? 'controller' : podNs === NS ? 'backends' : 'rest';
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/kubelet/') ? 'kubelets' : 'rest';
    } catch {
      return 'rest';
    }
  };
  // Not execFileSync: a namespace may go between the listing and this (a pod replaced), and then has no processes.
  return namespaces.flatMap((n) =>
    spawnSync('ip', ['netns', 'pids', n], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .stdout.split(/\s+/)
      .filter(Boolean)
      .map((p) => ({ pid: Number(p), group: groupOf(n, Number(p)) })),
  );
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

/** Seconds of CPU each group spent while `during` ran, and how long it ran. Clock ticks are 1/100 s on Linux (USER_HZ). */
function cpuDuring(procs: { pid: number; group: Group }[], during: () => void): { cpu: Cpu; seconds: number } {
  const before = procs.map((p) => ticks(p.pid));
  const start = performance.now();
  during();
  const seconds = (performance.now() - start) / 1000;
  const cpu: Cpu = { wrk: 0, controller: 0, backends: 0, kubelets: 0, rest: 0 };
  procs.forEach((p, i) => (cpu[p.group] += Math.max(0, ticks(p.pid) - before[i]) / 100));
  return { cpu, seconds };
}

/** The user and system time of a shell's children, from bash's `times` (its second line: `0m1.234s 0m0.567s`). */
function childSeconds(out: string): number {
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trim().split('\n').at(-1) ?? '');
  if (!m) throw new Error(`unexpected output of times: ${out}`);
  return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
}

function wrk(url: string, host: string, pods: ReadonlyMap<string, string>): Run {
  const procs = clusterProcesses(pods);
  const idle = cpuDuring(procs, () => execFileSync('sleep', [String(IDLE)]));
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${DURATION}s`, '--latency', ...(host ? ['-H', `Host: ${host}`] : []), url];
  let out = '';
  const busy = cpuDuring(procs, () => {
    // Through bash, whose `times` then says what wrk itself spent.
    const r = spawnSync('bash', ['-c', 'wrk "$@" && times', 'wrk', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.error?.message}`);
    out = r.stdout;
  });
  const w = parseWrk(out);
  const by = { ...busy.cpu, wrk: childSeconds(out) };
  // What each group spends idle, for as long as wrk ran, is not the requests' doing.
  for (const g of GROUPS) by[g] = (Math.max(0, by[g] - (idle.cpu[g] * busy.seconds) / idle.seconds) * 1e6) / w.requests;
  return { rps: w.rps, p99ms: w.p99ms, cpuUs: GROUPS.reduce((sum, g) => sum + by[g], 0), by };
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

/** The node whose network namespace holds `ip`: the one announcing a LoadBalancer address (L2, as MetalLB). */
function announcer(ip: string): string {
  for (let n = 1; ; n++) {
    const netns = `${PROJECT}-node-${n}`;
    const r = spawnSync('ip', ['-n', netns, '-4', '-o', 'addr'], { encoding: 'utf8' });
    if (r.status !== 0) return '?';
    if (r.stdout.includes(` ${ip}/`)) return `node-${n}`;
  }
}

interface Pod {
  namespace: string;
  node: string;
  app: string;
}

const share = (pods: Pod[], node: string) => `${((100 * pods.filter((p) => p.node !== node).length) / Math.max(1, pods.length)).toFixed(0)}%`;

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
  const ingressIP = await externalIP('ingress-nginx', 'ingress-nginx-controller');
  const viaIngress = `http://${ingressIP}/`;
  /** The cluster's pods by the first 8 characters of their uid (their network namespace's name). */
  const pods = (): Map<string, Pod> =>
    new Map(
      kubectl('get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.uid} {.metadata.namespace} {.spec.nodeName} {.metadata.labels.app}{"\\n"}{end}')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([uid, namespace, node, app]) => [uid.slice(0, 8), { namespace, node, app }]),
    );
  const summary: string[] = [];
  for (const b of BACKENDS) {
    const directIP = await externalIP(NS, b.name);
    const direct = `http://${directIP}/`;
    const host = `${b.name}.example`;
    await answers(direct, '');
    await answers(viaIngress, host);
    const namespaces = () => new Map([...pods()].map(([uid, p]) => [uid, p.namespace]));
    wrk(direct, '', namespaces()); // warm both paths: connections, upstream keepalive, caches
    wrk(viaIngress, host, namespaces());
    const runs: { d: Run; i: Run }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const d = wrk(direct, '', namespaces());
      const i = wrk(viaIngress, host, namespaces());
      runs.push({ d, i });
      const show = (x: Run) => `${x.rps.toFixed(0)} req/s p99 ${x.p99ms.toFixed(1)} ms ${x.cpuUs.toFixed(0)} µs/req`;
      console.log(`${b.name} round ${r + 1}: direct ${show(d)} | ingress ${show(i)}`);
    }
    const med = (pick: (x: { d: Run; i: Run }) => number) => median(runs.map(pick));
    const [d, i] = [
      { rps: med((x) => x.d.rps), p99: med((x) => x.d.p99ms), cpu: med((x) => x.d.cpuUs) },
      { rps: med((x) => x.i.rps), p99: med((x) => x.i.p99ms), cpu: med((x) => x.i.cpuUs) },
    ];
    const split = (pick: (x: { d: Run; i: Run }) => Run) =>
      GROUPS.map((g) => `${g} ${med((x) => pick(x).by[g]).toFixed(0)}`)
        .filter((t) => !t.endsWith(' 0'))
        .join(', ');
    // Where the pods ran: a request to a backend on another node than the one it arrives at crosses the node network.
    const all = [...pods().values()];
    const backends = all.filter((p) => p.namespace === NS && p.app === b.name);
    const [directNode, ingressNode] = [announcer(directIP), announcer(ingressIP)];
    const controllers = all.filter((p) => p.namespace === 'ingress-nginx').map((p) => p.node);
    summary.push(
      `${b.what} (2 replicas):`,
      `  direct (its LoadBalancer)       ${d.rps.toFixed(0).padStart(6)} req/s   p99 ${d.p99.toFixed(1).padStart(6)} ms   ${d.cpu.toFixed(0)} µs CPU/request`,
      `  through the ingress             ${i.rps.toFixed(0).padStart(6)} req/s   p99 ${i.p99.toFixed(1).padStart(6)} ms   ${i.cpu.toFixed(0)} µs CPU/request`,
      `  ratio: ${(i.rps / d.rps).toFixed(2)} of direct requests/s (median of the per-round ratios ${median(runs.map((x) => x.i.rps / x.d.rps)).toFixed(2)}); ` +
        `${(d.cpu / i.cpu).toFixed(2)} by CPU cost`,
      `  CPU µs/request, net of idle: direct ${split((x) => x.d)}; through the ingress ${split((x) => x.i)}`,
      `  backends on ${backends.map((p) => p.node).join(', ')}; direct address on ${directNode} (${share(backends, directNode)} of requests to another node); ` +
        `ingress address on ${ingressNode}, controllers on ${controllers.join(', ')} (${share(backends, ingressNode)} to another node)`,
    );
  }
  console.log(
    `\nwrk -t2 -c${CONNECTIONS} -d${DURATION}s from the host, ${ROUNDS} rounds, medians; CPU net of ${IDLE} s idle before each run; ` +
      `load average ${loadavg()} (target >= 0.7):`,
  );
  console.log(summary.join('\n'));
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

await withCluster(PROJECT, SUBNET, main);
