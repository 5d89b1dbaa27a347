/**
 * A low CPU share for the services `kemu up` starts early (launch-order.ts): a cgroup v1 `cpu` group per project,
 * kemu.<project>.starting, with cpu.shares 2 (the default is 1024), which a keeper joins before it starts its
 * service, so the service and what it forks are in it from their first instruction; `release` moves the keeper
 * and the service back to the group the CLI runs in. A cgroup, not nice(1): every service runs in a session of its own
 * (setsid), and where the kernel groups tasks by session (sched_autogroup, on by default) a nice value only weighs
 * against the same session's tasks. Where there is no cgroup v1 `cpu` hierarchy the services start at the usual
 * share (what is lost is only the speed-up).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CPU_ROOT = '/sys/fs/cgroup/cpu';

/**
 * The `cpu` group this CLI runs in (where the services would run without the low group, and go back to): the
 * hierarchy's root on a plain host, a slice or a container's group elsewhere. Undefined without a v1 `cpu` hierarchy.
 */
function ownGroup(): string | undefined {
  if (!existsSync(join(CPU_ROOT, 'cgroup.procs'))) return undefined;
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[1]?.split(',').includes('cpu'));
    const dir = join(CPU_ROOT, line?.split(':').slice(2).join(':') ?? '/');
    return existsSync(join(dir, 'cgroup.procs')) ? dir : CPU_ROOT;
  } catch {
    return CPU_ROOT;
  }
}

/** Where a project's low-share group is (inside the CLI's own group), made or not. */
function groupPath(project: string): string | undefined {
  const own = ownGroup();
  return own ? join(own, `kemu.${project}.starting`) : undefined;
}

/** The project's low-share group, made if missing; undefined where there is none to be had. */
export function lowShareGroup(project: string): string | undefined {
  const dir = groupPath(project);
  if (!dir) return undefined;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cpu.shares'), '2');
    return dir;
  } catch {
    return undefined;
  }
}

/** argv that joins `group` and then runs `argv` (exec: the same process). Pure. */
export function inGroup(group: string, argv: string[]): string[] {
  return ['sh', '-c', '{ echo $$ >"$1/cgroup.procs"; } 2>/dev/null; shift; exec "$@"', 'sh', group, ...argv];
}

/** Move a process back to the group the CLI runs in (false: it is gone, or there is no such hierarchy). */
export function toOwnGroup(pid: number): boolean {
  const own = ownGroup();
  if (!own) return false;
  try {
    writeFileSync(join(own, 'cgroup.procs'), String(pid));
    return true;
  } catch {
    return false;
  }
}

/**
 * Move whatever is still in the project's low-share group back to the CLI's own group and remove the group: after
 * the release of every service started early, and whatever happened to the `up` that started them (one that failed
 * before the api-server was healthy released nobody), and at `kemu stop`/`down`. False when the group is still there.
 */
export function drainLowShareGroup(project: string): boolean {
  const dir = groupPath(project);
  if (!dir || !existsSync(dir)) return true;
  for (let i = 0; i < 5; i++) {
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) toOwnGroup(Number(pid));
      rmdirSync(dir);
      return true;
    } catch {
      /* a process forked meanwhile: once more */
    }
  }
  return !existsSync(dir);
}

const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Until the returned function is called, a signal that would end this process (Ctrl-C during `kemu up`) first drains
 * the project's low-share group, then ends it as the signal would have: the services an interrupted `up` leaves
 * running keep the ordinary share.
 */
export function drainOnSignal(project: string): () => void {
  const onSignal = (sig: NodeJS.Signals): void => {
    drainLowShareGroup(project);
    // `once` took this listener off: the signal now does what it does by default.
    process.kill(process.pid, sig);
  };
  for (const sig of ENDING_SIGNALS) process.once(sig, onSignal);
  return () => {
    for (const sig of ENDING_SIGNALS) process.removeListener(sig, onSignal);
  };
}
