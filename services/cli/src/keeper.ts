/**
 * A service's keeper under `kemu up`: what Docker's restart policy is to a
 * container. Started detached in place of the service, it runs the service's
 * command as its child (so it reaps it: no zombie, whoever pid 1 is) and, as
 * the compose file's `restart:` says, starts it again when it exits, with
 * Docker's back-off (100 ms, doubling to a minute, reset once the process ran
 * 10 s). Each restart is a line in the service's log and counts in
 * pids/<service>.restarts. A stop is never undone: SIGTERM (kemu stop) is
 * passed to the process's group and the keeper ends with it; a stop marker
 * file (a kill through kemu) makes it end when the process does.
 *
 * Run: node keeper.js '<KeeperSpec as JSON>'
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KeeperSpec } from './keeper-spec.js';
import { signalGroup } from './process-signals.js';
import { formatRestart, nextDelay, parseRestart, shouldRestart } from './restart-policy.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as KeeperSpec;
const policy = parseRestart(spec.restart);
let child: ChildProcess | undefined;
let stopping = false;
let restarts = 0;
let delay = 0;
let timer: NodeJS.Timeout | undefined;

/** One JSON line, as the services' own pino lines, so `kemu logs` reads as one log. */
function log(level: number, fields: Record<string, unknown>, msg: string): void {
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, name: 'keeper', service: spec.service, ...fields, msg })}\n`);
}

const stopAsked = () => stopping || existsSync(spec.files.stopped);

function run(): void {
  timer = undefined;
  if (stopAsked()) process.exit(0);
  const started = Date.now();
  const [cmd = '', ...args] = spec.command;
  // Its own process group, as before the keeper: `kill -- -PID` of the recorded pid reaches the service, not us.
  const c = spawn(cmd, args, { detached: true, stdio: 'inherit' });
  child = c;
  if (c.pid) writeFileSync(spec.files.pid, String(c.pid));
  let ended = false;
  const exited = (code: number | null, signal: NodeJS.Signals | null) => {
    if (ended) return;
    ended = true;
    child = undefined;
    const ranMs = Date.now() - started;
    if (stopAsked()) process.exit(0);
    if (!shouldRestart(policy, code, restarts)) {
      log(40, { code, signal, ranMs, restart: formatRestart(policy) }, 'process exited; not restarted');
      process.exit(0);
    }
    delay = nextDelay(delay, ranMs);
    restarts++;
    writeFileSync(spec.files.restarts, String(restarts));
    log(40, { code, signal, ranMs, restarts, delayMs: delay }, 'process exited; restarting');
    timer = setTimeout(run, delay);
  };
  c.on('exit', exited);
  c.on('error', (e) => {
    log(50, { err: e.message }, 'process failed to start');
    exited(127, null);
  });
}

/** Into the service's freezer cgroup before anything starts: its processes, and theirs (a kubelet's pods), inherit it. */
function joinFreezer(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cgroup.procs'), String(process.pid));
  } catch (e) {
    log(40, { dir, err: (e as Error).message }, 'no freezer cgroup; freezing falls back to SIGSTOP');
  }
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    stopping = true;
    if (timer) clearTimeout(timer);
    if (child?.pid) signalGroup(child.pid, sig);
    else process.exit(0);
  });
}
process.on('SIGHUP', () => undefined);

mkdirSync(dirname(spec.files.restarts), { recursive: true });
writeFileSync(spec.files.restarts, '0');
if (spec.freezer) joinFreezer(spec.freezer);
run();
