/**
 * The CLI's side of supervision under `kemu up`: each long-running service
 * runs under a keeper (bin/keeper.sh) that restarts it as its compose `restart:`
 * says. Here: starting a service under its keeper, and stopping, killing,
 * freezing and thawing it without the keeper undoing it. What the rest of
 * `kemu` reads stays where it was: pids/<service>.pid is the service's own
 * process (its process group: `kill -- -PID`).
 *
 * Freezing uses the cgroup v1 freezer, as `docker pause` does: the keeper
 * puts itself in pids' freezer cgroup before it starts the service, so the
 * service and everything it starts (a kubelet's pods) are in it, and freezing
 * it stops them all at once; no process can see it or slip out by forking.
 * Where there is no freezer hierarchy, SIGSTOP/SIGCONT of the keeper's
 * process tree does the same less atomically (a process can notice SIGCONT).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { drainLowShareGroup, inGroup, lowShareGroup, toOwnGroup } from './cpu-share.js';
import { keeperArgv, keeperFiles, type KeeperFiles, type KeeperSpec } from './keeper-spec.js';
import { isAlive, killCgroup, processTree, signalGroup, signalPid } from './process-signals.js';

const FREEZER_ROOT = '/sys/fs/cgroup/freezer';

/** What a supervised service is doing (`restarting`: its process exited and its keeper waits out the back-off). */
export type SupervisedState = 'running' | 'restarting' | 'paused' | 'exited';

function readNumber(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Supervisor {
  /** Services this CLI started in the low-share group and has not released yet. */
  private low = new Set<string>();

  constructor(
    private state: string,
    private project: string,
  ) {}

  files(svc: string): KeeperFiles {
    return keeperFiles(this.state, svc);
  }

  /** The service's own process, when the keeper has started it. */
  pid(svc: string): number | undefined {
    return readNumber(this.files(svc).pid);
  }

  keeperPid(svc: string): number | undefined {
    return readNumber(this.files(svc).keeper);
  }

  /** How many times its keeper started it again since `kemu up`/`start` started it. */
  restarts(svc: string): number {
    return readNumber(this.files(svc).restarts) ?? 0;
  }

  /** The freezer cgroup its keeper runs in (undefined where the machine has no freezer hierarchy). */
  private freezerDir(svc: string): string | undefined {
    return existsSync(join(FREEZER_ROOT, 'cgroup.procs')) ? join(FREEZER_ROOT, `kemu.${this.project}`, svc.replace(/\//g, '_')) : undefined;
  }

  stateOf(svc: string): SupervisedState {
    const pid = this.pid(svc);
    if (this.frozen(svc)) return 'paused';
    if (isAlive(pid)) return 'running';
    return isAlive(this.keeperPid(svc)) ? 'restarting' : 'exited';
  }

  /** Whether the service is under way: its process runs, or its keeper is about to (re)start it. */
  active(svc: string): boolean {
    return isAlive(this.pid(svc)) || isAlive(this.keeperPid(svc));
  }

  /**
   * Whether a service being brought up is still on its way: its keeper runs and will start it again. A process that
   * keeps exiting (3 restarts: a bad flag, a crash at start) fails `kemu up` with its log, as before supervision; one
   * that exited once while others started (a controller that lost its Lease while the api-server restarted, and
   * exits as Kubernetes' do) is its keeper's to restart, not a failed start.
   */
  starting(svc: string): boolean {
    return isAlive(this.keeperPid(svc)) && this.restarts(svc) < 3;
  }

  /**
   * Start `command` under a keeper, detached; its output and the keeper's lines go to `logFile`. `lowPriority`: the
   * keeper, and so the service, in the project's low CPU share group (cpu-share.ts; launch-order.ts: a service
   * started early) until `release`.
   */
  start(svc: string, restart: string | undefined, command: string[], env: NodeJS.ProcessEnv, logFile: string, o: { lowPriority?: boolean } = {}): void {
    const f = this.files(svc);
    mkdirSync(dirname(f.pid), { recursive: true });
    mkdirSync(dirname(logFile), { recursive: true });
    for (const x of [f.pid, f.stopped, f.restarts]) rmSync(x, { force: true });
    const freezer = this.freezerDir(svc);
    const spec: KeeperSpec = { service: svc, ...(restart !== undefined ? { restart } : {}), command, files: f, ...(freezer ? { freezer } : {}) };
    const logFd = openSync(logFile, 'a');
    const [sh = 'sh', ...args] = keeperArgv(spec);
    const group = o.lowPriority ? lowShareGroup(this.project) : undefined;
    if (group) this.low.add(svc);
    const [cmd = sh, ...argv] = group ? inGroup(group, [sh, ...args]) : [sh, ...args];
    const keeper = spawn(cmd, argv, { detached: true, stdio: ['ignore', logFd, logFd], env });
    closeSync(logFd);
    writeFileSync(f.keeper, String(keeper.pid));
    keeper.unref();
  }

  /**
   * A service started at low priority gets the ordinary share back: its keeper first, so a restart from now on is
   * ordinary too, then the service and what it has forked (a kubelet that found its api-server before this release
   * may have started pods).
   */
  async release(svc: string): Promise<void> {
    const keeper = this.keeperPid(svc);
    if (!this.low.delete(svc) || !keeper) return;
    toOwnGroup(keeper);
    // A release right after the start (what it waited for was healthy already) may come before the keeper has
    // forked the service and written its pid.
    for (let i = 0; i < 100 && this.pid(svc) === undefined && isAlive(keeper); i++) await sleep(20);
    for (const pid of processTree(keeper)) toOwnGroup(pid);
  }

  /** After the releases, or an `up` that failed before them: nothing stays in the low-share group (drainLowShareGroup). */
  releasedAll(): void {
    this.low.clear();
    drainLowShareGroup(this.project);
  }

  /**
   * Stop services as `docker stop` does, and for good: the stop is marked first (no keeper restarts what it sees
   * exit), each keeper passes SIGTERM to its process group and ends with it; after `graceMs` what is left is killed.
   */
  async stop(svcs: string[], graceMs = 5000): Promise<void> {
    const live = svcs.filter((s) => this.active(s));
    for (const s of live) {
      this.markStopped(s);
      this.thaw(s); // a frozen process would not act on SIGTERM until thawed
      const keeper = this.keeperPid(s);
      const pid = this.pid(s);
      if (isAlive(keeper)) process.kill(keeper!, 'SIGTERM');
      else if (pid && isAlive(pid)) signalGroup(pid, 'SIGTERM'); // a service started before keepers existed
    }
    const deadline = Date.now() + graceMs;
    while (live.some((s) => this.active(s)) && Date.now() < deadline) await sleep(50);
    for (const s of live) {
      const keeper = this.keeperPid(s);
      const pid = this.pid(s);
      if (isAlive(keeper)) process.kill(keeper!, 'SIGKILL');
      if (pid && isAlive(pid)) signalGroup(pid, 'SIGKILL');
    }
    for (const s of svcs) {
      const f = this.files(s);
      for (const x of [f.pid, f.keeper]) rmSync(x, { force: true });
    }
  }

  /**
   * Send `signal` to the service's process group, as `docker kill` does: the service counts as stopped (its keeper
   * restarts nothing and ends with it) until it is started again.
   */
  kill(svc: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    this.markStopped(svc);
    this.thaw(svc);
    const pid = this.pid(svc);
    if (pid && isAlive(pid)) signalGroup(pid, signal);
    else {
      const keeper = this.keeperPid(svc);
      if (isAlive(keeper)) process.kill(keeper!, 'SIGTERM'); // between two restarts: nothing to kill but the wait
    }
  }

  private markStopped(svc: string): void {
    const f = this.files(svc);
    mkdirSync(dirname(f.stopped), { recursive: true });
    writeFileSync(f.stopped, new Date().toISOString());
  }

  private frozen(svc: string): boolean {
    const dir = this.freezerDir(svc);
    if (dir && existsSync(join(dir, 'freezer.state'))) {
      try {
        return readFileSync(join(dir, 'freezer.state'), 'utf8').trim() !== 'THAWED';
      } catch {
        return false;
      }
    }
    return false;
  }

  /** The freezer cgroup, when the service's keeper is in it. */
  private freezerOf(svc: string): string | undefined {
    const dir = this.freezerDir(svc);
    const keeper = this.keeperPid(svc);
    if (!dir || !keeper) return undefined;
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').map(Number).includes(keeper) ? dir : undefined;
    } catch {
      return undefined;
    }
  }

  /** Freeze every process of the service (the keeper, the service, what it started), as `docker pause`. */
  async freeze(svc: string): Promise<void> {
    const dir = this.freezerOf(svc);
    if (dir) {
      writeFileSync(join(dir, 'freezer.state'), 'FROZEN');
      // FREEZING until every task has stopped.
      for (let i = 0; i < 100 && readFileSync(join(dir, 'freezer.state'), 'utf8').trim() !== 'FROZEN'; i++) await sleep(20);
      return;
    }
    const keeper = this.keeperPid(svc);
    if (isAlive(keeper)) for (const p of processTree(keeper!)) signalPid(p, 'SIGSTOP');
  }

  /** Undo freeze. */
  thaw(svc: string): void {
    const dir = this.freezerDir(svc);
    if (dir && existsSync(join(dir, 'freezer.state'))) {
      writeFileSync(join(dir, 'freezer.state'), 'THAWED');
      return;
    }
    const keeper = this.keeperPid(svc);
    if (isAlive(keeper)) for (const p of processTree(keeper!)) signalPid(p, 'SIGCONT');
  }

  /** Remove the project's freezer cgroups (after its processes are gone; one still busy is left), and its low-share group. */
  async removeFreezers(): Promise<void> {
    const root = join(FREEZER_ROOT, `kemu.${this.project}`);
    try {
      await this.removeFreezerRoot(root);
    } finally {
      drainLowShareGroup(this.project);
    }
  }

  private async removeFreezerRoot(root: string): Promise<void> {
    if (!existsSync(root)) return;
    for (let i = 0; i < 20; i++) {
      for (const d of readdirSync(root, { withFileTypes: true })) {
        if (!d.isDirectory()) continue;
        try {
          writeFileSync(join(root, d.name, 'freezer.state'), 'THAWED');
          // Whatever still runs here outlived its records (a keeper whose state directory was removed, or a `kemu down`
          // run with another KEMU_HOME): the cgroup knows it, so it goes too and nothing restarts into a new cluster.
          killCgroup(join(root, d.name));
          rmdirSync(join(root, d.name));
        } catch {
          /* busy: its last processes are still exiting */
        }
      }
      try {
        rmdirSync(root);
        return;
      } catch {
        await sleep(50);
      }
    }
  }
}
