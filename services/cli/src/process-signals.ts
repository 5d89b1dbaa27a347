/** Processes by pid: alive or not, signalled alone or with their group, and the tree below one. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Is the process running? A zombie is not: where pid 1 does not reap
 * orphans (some containers and VMs), a killed service stays a zombie.
 */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Signal a process's group (services run as their own group), else the process alone. */
export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

/** `root` and every process below it, parents first (from /proc's parent pids). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = [];
  const visit = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(root);
  return out;
}

export function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/** SIGKILL every process a cgroup directory still holds (its cgroup.procs); a cgroup gone meanwhile holds none. */
export function killCgroup(dir: string): void {
  let pids: string[] = [];
  try {
    pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
  } catch {
    /* gone meanwhile */
  }
  for (const pid of pids) signalPid(Number(pid), 'SIGKILL');
}
