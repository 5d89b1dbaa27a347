import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keeperArgv, keeperFiles } from './keeper-spec.js';
import { isAlive } from './process-signals.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The keeper as `kemu up` starts it, with its output collected. */
function keeper(restart: string, command: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'kemu-keeper-'));
  dirs.push(dir);
  const files = keeperFiles(dir, 'svc');
  const [sh = 'sh', ...args] = keeperArgv({ service: 'svc', restart, command, files });
  const p = spawn(sh, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => p.on('exit', r));
  return { files, exited, out: () => out, keeper: p, dir };
}

interface Line {
  level: number;
  time: number;
  name: string;
  service: string;
  msg: string;
  restarts?: number;
  delayMs?: number;
  code?: number | null;
  signal?: string | null;
  restart?: string;
}

const lines = (out: string) =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

async function pidOf(files: { pid: string }, not?: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      const pid = Number(readFileSync(files.pid, 'utf8'));
      if (pid && pid !== not) return pid;
    } catch {
      /* not started yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no pid');
}

describe('keeper', () => {
  it("restarts a failing process with Docker's doubling back-off as on-failure:3 allows, counts it, then gives up", async () => {
    const k = keeper('on-failure:3', ['sh', '-c', 'exit 3']);
    expect(await k.exited).toBe(0);
    const log = lines(k.out());
    expect(log.map((l) => [l.msg, l.restarts, l.delayMs, l.code])).toEqual([
      ['process exited; restarting', 1, 100, 3],
      ['process exited; restarting', 2, 200, 3],
      ['process exited; restarting', 3, 400, 3],
      ['process exited; not restarted', undefined, undefined, 3],
    ]);
    expect(log[3]).toMatchObject({ level: 40, name: 'keeper', service: 'svc', signal: null, restart: 'on-failure:3' });
    expect(log[0].time).toBeGreaterThan(Date.now() - 60_000);
    expect(readFileSync(k.files.restarts, 'utf8').trim()).toBe('3');
  }, 30_000);

  it.each([
    ['no', 1, false],
    ['on-failure', 0, false],
    ['always', 0, true],
    ['unless-stopped', 0, true],
  ])(
    '%s: a process that exits %i is restarted: %s',
    async (restart, code, again) => {
      const k = keeper(restart, ['sh', '-c', `exit ${code}`]);
      if (again) {
        const first = await pidOf(k.files);
        await pidOf(k.files, first); // started again
        writeFileSync(k.files.stopped, ''); // as a kill through kemu: the keeper ends with the process
      }
      expect(await k.exited).toBe(0);
      expect(lines(k.out())[0].msg).toBe(again ? 'process exited; restarting' : 'process exited; not restarted');
    },
    30_000,
  );

  it('runs the process in a group of its own, names the signal that ended it, and restarts it', async () => {
    const k = keeper('unless-stopped', ['sleep', '30']);
    const pid = await pidOf(k.files);
    // Its own process group, whose id is its pid: `kill -- -PID` reaches it and not the keeper.
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2]).toBe(String(pid));
    // No signal ignored (sh would have passed SIGINT and SIGQUIT on ignored): it is stopped and dumped as usual.
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^SigIgn:\s+0+$/m);
    process.kill(-pid, 'SIGKILL');
    const again = await pidOf(k.files, pid);
    expect(lines(k.out())[0]).toMatchObject({ msg: 'process exited; restarting', code: null, signal: 'SIGKILL', restarts: 1 });
    k.keeper.kill('SIGTERM');
    expect(await k.exited).toBe(0);
    expect(isAlive(again)).toBe(false);
  }, 30_000);

  it('on SIGTERM stops its process (reaped) and restarts nothing', async () => {
    const k = keeper('unless-stopped', ['sleep', '30']);
    const pid = await pidOf(k.files);
    expect(isAlive(pid)).toBe(true);
    k.keeper.kill('SIGTERM');
    expect(await k.exited).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(k.out()).not.toContain('restarting');
  }, 30_000);
});
