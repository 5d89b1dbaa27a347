/**
 * The kubelet's cost of a container's log lines: a writer process writes access-log-like lines into a FIFO, one
 * write() each, at a steady rate (as nginx writes its access log, a line per request), and the kubelet's LogPump
 * reads them into a CRI log file, as it does for every container. Prints the pump's CPU time (user + system) per
 * line at each rate, net of what the same process spends idle for as long.
 *
 * The pump runs in a process of its own, plain node in the kubelet's V8 mode (--lite-mode, see the compose file) on
 * the built code: process.cpuUsage() counts every thread of a process, and in this file's own process (run by tsx)
 * the loader's thread alone cost more than the pump.
 * Run: npm run bench:log-pump   (KEMU_BENCH_LINES lines per rate, default 20,000)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const LINES = Number(process.env.KEMU_BENCH_LINES ?? 20_000);
const RATES = [1_000, 5_000];
const LINE =
  '10.244.1.1 - - [29/Nov/2026:21:40:00 +0000] "GET / HTTP/1.1" 200 615 "-" "wrk" 0.000 [default-svc-80] [] 10.244.2.3:80 615 0.000 200 0123456789abcdef\n';
const LOGS = pathToFileURL(resolve(import.meta.dirname, '../../services/kubelet/dist/runtime/logs.js')).href;

/** A writer of `n` lines at `rate` lines/s: sleeps between lines (Atomics.wait), so it leaves the cores to the pump. */
const writer = (fifo: string, n: number, rate: number) => `
  const fs = require('fs');
  const fd = fs.openSync(${JSON.stringify(fifo)}, 'w');
  const line = ${JSON.stringify(LINE)};
  const gapNs = 1e9 / ${rate};
  const t0 = process.hrtime.bigint();
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < ${n}; i++) {
    const ahead = Number(t0 + BigInt(Math.round(i * gapNs)) - process.hrtime.bigint()) / 1e6;
    if (ahead > 0) Atomics.wait(sleeper, 0, 0, ahead);
    fs.writeSync(fd, line);
  }
  fs.closeSync(fd);`;

/**
 * The pump's process: with a writer, pumps until the writer is done; without one (`idleMs`), sits as long doing
 * nothing. Prints its CPU time in µs and the seconds it ran.
 */
const pumpProcess = (dir: string, w: { n: number; rate: number } | { idleMs: number }) => {
  const work =
    'idleMs' in w
      ? `await new Promise((r) => setTimeout(r, ${w.idleMs}));`
      : `const writer = spawn(process.execPath, ['-e', ${JSON.stringify(writer(join(dir, 'stdout'), w.n, w.rate))}], { stdio: 'inherit' });
         const pump = new LogPump(${JSON.stringify(join(dir, 'log'))}, { out: ${JSON.stringify(join(dir, 'stdout'))} });
         await new Promise((r) => writer.on('exit', r));
         await pump.close();`;
  return `
    const { spawn } = await import('node:child_process');
    const { LogPump } = await import(${JSON.stringify(LOGS)});
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    ${work}
    const c = process.cpuUsage(c0);
    console.log(JSON.stringify({ cpuUs: c.user + c.system, seconds: (performance.now() - t0) / 1000 }));`;
};

function inProcess(dir: string, w: Parameters<typeof pumpProcess>[1]): { cpuUs: number; seconds: number } {
  const out = execFileSync(process.execPath, ['--lite-mode', '--input-type=module', '-e', pumpProcess(dir, w)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as { cpuUs: number; seconds: number };
}

function run(rate: number): { usPerLine: number; idleUsPerLine: number; seconds: number; complete: boolean } {
  const dir = mkdtempSync('/tmp/kemu-bench-logs-');
  try {
    execFileSync('mkfifo', [join(dir, 'stdout')]);
    const busy = inProcess(dir, { n: LINES, rate });
    const idle = inProcess(dir, { idleMs: busy.seconds * 1000 });
    const complete = readFileSync(join(dir, 'log'), 'utf8').split('\n').length - 1 === LINES;
    return { usPerLine: (busy.cpuUs - idle.cpuUs) / LINES, idleUsPerLine: idle.cpuUs / LINES, seconds: busy.seconds, complete };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`kubelet LogPump, ${LINES} lines per rate, one write() per line (load ${loadavg()[0]?.toFixed(1)})`);
for (const rate of RATES) {
  const r = run(rate);
  console.log(
    `${String(rate).padStart(6)} lines/s: ${r.usPerLine.toFixed(1)} µs of CPU per line, net of the process idle for as long ` +
      `(${r.idleUsPerLine.toFixed(1)} µs/line) (${r.seconds.toFixed(1)} s${r.complete ? '' : ', LINES LOST'})`,
  );
}
