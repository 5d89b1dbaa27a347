/**
 * Supervision under `kemu up`: every long-running service runs under a keeper
 * that applies its compose `restart: unless-stopped` — a process that dies
 * behind kemu's back (a controller-manager that lost its Lease, a kill -9) is
 * started again and counted in `kemu status`, and reaped (no zombie) — while
 * `kemu stop SERVICE` stays stopped until `kemu start SERVICE`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kemu, stateFile, waitFor } from './helpers.js';

interface Row {
  state: string;
  pid?: number;
  restarts: number;
}

/** A service's line of `kemu status`: SERVICE STATE PID ADDRESS RESTARTS. */
function row(service: string): Row {
  const line = kemu('status')
    .split('\n')
    .find((l) => l.startsWith(`${service} `));
  if (!line) throw new Error(`no ${service} in kemu status`);
  const [, state = '', pid = '-', , restarts = '0'] = line.trim().split(/\s+/);
  return { state, pid: pid === '-' ? undefined : Number(pid), restarts: Number(restarts) };
}

/** The process's state letter from /proc (Z: a zombie nobody reaped), or undefined when it is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}

/** Zombies whose parent is one of this cluster's keepers. */
function keeperZombies(): number[] {
  const keepers = new Set<number>();
  const collect = (dir: string) => {
    for (const f of readdirSync(dir, { withFileTypes: true })) {
      if (f.isDirectory()) collect(`${dir}/${f.name}`);
      else if (f.name.endsWith('.keeper')) keepers.add(Number(readFileSync(`${dir}/${f.name}`, 'utf8')));
    }
  };
  collect(stateFile('pids'));
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return state === 'Z' && keepers.has(Number(ppid)) ? [Number(d)] : [];
      } catch {
        return [];
      }
    });
}

describe('supervision (restart: unless-stopped)', () => {
  it.each(['controller-manager', 'scheduler', 'node-2/kube-proxy'])('%s killed with SIGKILL comes back, counted, reaped', async (service) => {
    const before = row(service);
    expect(before.state).toBe('running');
    const pid = before.pid!;
    process.kill(pid, 'SIGKILL');
    const after = await waitFor(`${service} running again`, () => {
      const r = row(service);
      return r.state === 'running' && r.pid !== pid ? r : undefined;
    });
    expect(after.restarts).toBe(before.restarts + 1);
    // Its keeper is its parent and has reaped it: no zombie left behind.
    expect(procState(pid)).toBeUndefined();
    expect(kemu('logs', service)).toContain('process exited; restarting');
  });

  it('kemu stop SERVICE stays stopped (nothing left to restart it); kemu start SERVICE brings it back', async () => {
    const pid = row('scheduler').pid!;
    expect(kemu('stop', 'scheduler')).toContain('Stopped scheduler');
    // `exited`, not `restarting`: its keeper ended with it, so nothing is waiting to start it again.
    expect(row('scheduler')).toMatchObject({ state: 'exited', pid: undefined });
    expect(procState(pid)).toBeUndefined();
    expect(kemu('start', 'scheduler')).toContain('Started scheduler');
    const back = await waitFor('the scheduler running again', () => {
      const r = row('scheduler');
      return r.state === 'running' ? r : undefined;
    });
    expect(back.restarts).toBe(0); // a start is not a restart (docker start resets the count too)
    expect(kemu('start', 'scheduler')).toContain('scheduler is already running');
  });

  it('leaves no zombie process under any keeper', () => {
    expect(keeperZombies()).toEqual([]);
  });
});
