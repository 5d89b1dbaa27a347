/**
 * `kemu up --nodes 3` from nothing (no state directory: credentials, network, processes) to 3 Ready nodes with the
 * cluster DNS answering, run 5 times; min/median/max of the whole and of each phase, timed here from the lines
 * `kemu up` prints as it goes — the launch's timeline:
 *   etcd       etcd healthy ("etcd: healthy"; the credentials are made meanwhile),
 *   apiserver  the api-server healthy ("apiserver: healthy"),
 *   nodes      every node Ready and schedulable ("nodes Ready: ..."),
 *   addons     the DNS add-on applied (the first "add-ons: ..."; the others are applied once the DNS answers),
 *   dns        10.96.0.10 answering from node-1 ("cluster DNS: answering ..."): CoreDNS pods scheduled, started,
 *              Ready, and kube-proxy's rules for them written,
 *   processes  every process of the compose file healthy ("processes: N healthy"; beside the chain above),
 *   total      `kemu up` exiting.
 * Each run starts on a quiet machine, as a user's `kemu up` does: after the previous run's `kemu down` the bench waits
 * until the CPU is at least 90% idle over a second (the kernel tears network namespaces down after `down` returns),
 * at most 30 s; the idle share at the start is printed with the run, and the load average (which lags by a minute).
 * Run: npm run bench:up   (as root; KEMU_BENCH_RUNS, KEMU_BENCH_PROJECT and KEMU_BENCH_SUBNET to change the defaults;
 * KEMU_BENCH_DRIVER=docker times `kemu up --driver docker`, the image already built: its first phase ends when the
 * containers are up, the compose CLI having waited for the control plane's health checks)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { withBenchHome } from './cluster.js';

const CLI = resolve(import.meta.dirname, '../../services/cli/dist/bundle.mjs');
const RUNS = Number(process.env.KEMU_BENCH_RUNS ?? 5);
const PROJECT = process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench-up';
const SUBNET = process.env.KEMU_BENCH_SUBNET ?? '172.30';
const DRIVER = process.env.KEMU_BENCH_DRIVER ?? 'namespace';

/** The progress line that ends each phase. */
const PHASES = [
  { name: 'etcd', line: /^\s*etcd: healthy/ },
  { name: 'apiserver', line: /^\s*apiserver: healthy/ },
  { name: 'nodes', line: /^\s*nodes Ready:/ },
  { name: 'addons', line: /^\s*add-ons:/ },
  { name: 'dns', line: /^\s*cluster DNS: answering/ },
  { name: 'processes', line: /^\s*(processes: \d+ healthy|containers: up)/ },
] as const;
type Phase = (typeof PHASES)[number]['name'] | 'total';
type Run = Partial<Record<Phase, number>> & { load: number; idle: number };

/** Busy and total jiffies of all CPUs (/proc/stat). */
function cpuTimes(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { idle, total: f.reduce((a, b) => a + b, 0) };
}

/** Wait until the CPUs are at least 90% idle over a second (at most 30 s); the last second's idle share. */
async function quiet(): Promise<number> {
  let share = 0;
  for (let i = 0; i < 30; i++) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, 1000));
    const b = cpuTimes();
    share = (b.idle - a.idle) / Math.max(1, b.total - a.total);
    if (share >= 0.9) break;
  }
  return share;
}

/** One `kemu up`, its phases in seconds since it was started. */
async function up(env: NodeJS.ProcessEnv): Promise<Run> {
  const idle = await quiet();
  const load = loadavg()[0] ?? 0;
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  const child = spawn(process.execPath, [CLI, '-p', PROJECT, '--subnet', SUBNET, '--driver', DRIVER, 'up', '--nodes', '3'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const run: Run = { load, idle };
  for await (const line of createInterface({ input: child.stdout })) {
    const phase = PHASES.find((p) => p.line.test(line));
    if (phase && run[phase.name] === undefined) run[phase.name] = since();
  }
  const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', r)));
  run.total = since();
  if (code !== 0) throw new Error(`kemu up exited with ${code}`);
  return run;
}

const s = (x: number | undefined) => (x === undefined ? '   -  ' : `${x.toFixed(1).padStart(5)}s`);
const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted[sorted.length - 1] };
};

await withBenchHome(PROJECT, SUBNET, async ({ env, kemu }) => {
  const runs: Run[] = [];
  console.log(
    `kemu up --driver ${DRIVER} --nodes 3, ${RUNS} runs (seconds since the start; idle = CPU idle share in the second before, load = 1-minute load average at the start)`,
  );
  console.log('run      etcd  apiserver    nodes   add-ons      dns  processes    total   idle   load');
  for (let i = 1; i <= RUNS; i++) {
    try {
      const r = await up(env);
      runs.push(r);
      const cols = [r.etcd, r.apiserver, r.nodes, r.addons, r.dns, r.processes, r.total].map((x) => s(x).padStart(9));
      console.log(`${String(i).padEnd(4)}${cols.join('')}  ${`${Math.round(r.idle * 100)}%`.padStart(5)}  ${r.load.toFixed(1).padStart(5)}`);
    } finally {
      kemu('down');
    }
  }
  console.log('');
  // Each phase's own share: from the end of the one before.
  const own = (r: Run, p: Phase, before: Phase | undefined) => (r[p] ?? 0) - (before ? (r[before] ?? 0) : 0);
  const rows: [string, Phase, Phase | undefined][] = [
    ['etcd healthy', 'etcd', undefined],
    ['  then api-server', 'apiserver', 'etcd'],
    ['  then nodes Ready', 'nodes', 'apiserver'],
    ['  then add-ons applied', 'addons', 'nodes'],
    ['  then DNS answering', 'dns', 'addons'],
    ['processes healthy', 'processes', undefined],
    ['kemu up (total)', 'total', undefined],
  ];
  console.log('                           min   median      max');
  for (const [label, p, before] of rows) {
    const { min, median, max } = stats(runs.map((r) => own(r, p, before)));
    console.log(`${label.padEnd(24)} ${s(min)}  ${s(median)}  ${s(max)}`);
  }
});
