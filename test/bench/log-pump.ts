/**
 * The kubelet's cost of a container's log lines: a writer process writes access-log-like lines into a FIFO, one
 * write() each, at a steady rate (as nginx writes its access log, a line per request), and the kubelet's LogPump
 * reads them into a CRI log file, as it does for every container. Prints the pump's CPU time (user + system) per
 * line at each rate. Runs in the kubelet's V8 mode (--lite-mode, see the compose file), on the built code.
 * Run: npm run bench:log-pump   (KEMU_BENCH_LINES lines per rate, default 20,000)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { LogPump } from '../../services/kubelet/dist/runtime/logs.js';

const LINES = Number(process.env.KEMU_BENCH_LINES ?? 20_000);
const RATES = [1_000, 5_000];
const LINE =
  '10.244.1.1 - - [29/Nov/2026:21:40:00 +0000] "GET / HTTP/1.1" 200 615 "-" "wrk" 0.000 [default-svc-80] [] 10.244.2.3:80 615 0.000 200 0123456789abcdef\n';

/** A writer of `n` lines at `rate` lines/s: sleeps between lines (Atomics.wait), so it leaves the cores to the pump. */
function writer(fifo: string, n: number, rate: number) {
  const script = `
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
  return spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
}

async function run(rate: number): Promise<{ usPerLine: number; seconds: number; complete: boolean }> {
  const dir = mkdtempSync('/tmp/kemu-bench-logs-');
  try {
    const fifo = join(dir, 'stdout');
    execFileSync('mkfifo', [fifo]);
    const w = writer(fifo, LINES, rate);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const pump = new LogPump(join(dir, 'log'), { out: fifo });
    await new Promise((r) => w.on('exit', r));
    await pump.close();
    const c = process.cpuUsage(c0);
    const complete = readFileSync(join(dir, 'log'), 'utf8').split('\n').length - 1 === LINES;
    return { usPerLine: (c.user + c.system) / LINES, seconds: (performance.now() - t0) / 1000, complete };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`kubelet LogPump, ${LINES} lines per rate, one write() per line (load ${loadavg()[0]?.toFixed(1)})`);
for (const rate of RATES) {
  const r = await run(rate);
  console.log(
    `${String(rate).padStart(6)} lines/s: ${r.usPerLine.toFixed(1)} µs of CPU per line (${r.seconds.toFixed(1)} s${r.complete ? '' : ', LINES LOST'})`,
  );
}
