/**
 * A low CPU share for the services `kemu up` starts early (launch-order.ts): a cgroup v1 `cpu` group per project,
 * kemu.<project>.starting, with cpu.shares 2 (the default is 1024), which a keeper joins before it starts its
 * service, so the service and what it forks are in it from their first instruction; `release` moves the keeper
 * and the service back to the root group. A cgroup, not nice(1): every service runs in a session of its own
 * (setsid), and where the kernel groups tasks by session (sched_autogroup, on by default) a nice value only weighs
 * against the same session's tasks. Where there is no cgroup v1 `cpu` hierarchy the services start at the usual
 * share (what is lost is only the speed-up).
 */
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CPU_ROOT = '/sys/fs/cgroup/cpu';

/** The project's low-share group, made if missing; undefined where there is none to be had. */
export function lowShareGroup(project: string): string | undefined {
  if (!existsSync(join(CPU_ROOT, 'cgroup.procs'))) return undefined;
  const dir = join(CPU_ROOT, `kemu.${project}.starting`);
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
  return ['sh', '-c', 'echo $$ >"$1/cgroup.procs" 2>/dev/null; shift; exec "$@"', 'sh', group, ...argv];
}

/** Move a process back to the root `cpu` group (false: it is gone, or there is no such hierarchy). */
export function toRootGroup(pid: number): boolean {
  try {
    writeFileSync(join(CPU_ROOT, 'cgroup.procs'), String(pid));
    return true;
  } catch {
    return false;
  }
}

/** Remove the project's low-share group, once nothing is left in it (best effort: `kemu down` tries again). */
export function removeLowShareGroup(project: string): void {
  try {
    rmdirSync(join(CPU_ROOT, `kemu.${project}.starting`));
  } catch {
    /* absent, or a process forked before the release is still in it */
  }
}
