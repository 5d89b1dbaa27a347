import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keeperFiles, type KeeperSpec } from './keeper-spec.js';
import { isAlive } from './process-signals.js';

const KEEPER = new URL('./keeper.ts', import.meta.url).pathname;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The keeper as `kemu up` starts it (from its TypeScript source), with its output collected. */
function keeper(restart: string, command: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'kemu-keeper-'));
  dirs.push(dir);
  const files = keeperFiles(dir, 'svc');
  const spec: KeeperSpec = { service: 'svc', restart, command, files };
  const p = spawn(process.execPath, ['--import', 'tsx', KEEPER, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => p.on('exit', r));
  return { files, exited, out: () => out, keeper: p };
}

const lines = (out: string) =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; restarts?: number; delayMs?: number; code?: number });

describe('keeper', () => {
  it('restarts a failing process with a doubling back-off as on-failure:2 allows, counts it, then gives up', async () => {
    const k = keeper('on-failure:2', ['sh', '-c', 'exit 3']);
    expect(await k.exited).toBe(0);
    const log = lines(k.out());
    expect(log.map((l) => [l.msg, l.restarts, l.delayMs])).toEqual([
      ['process exited; restarting', 1, 100],
      ['process exited; restarting', 2, 200],
      ['process exited; not restarted', undefined, undefined],
    ]);
    expect(readFileSync(k.files.restarts, 'utf8')).toBe('2');
  }, 30_000);

  it('on SIGTERM stops its process (reaped) and restarts nothing', async () => {
    const k = keeper('unless-stopped', ['sleep', '30']);
    let pid: number | undefined;
    for (let i = 0; i < 200 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        pid = Number(readFileSync(k.files.pid, 'utf8'));
      } catch {
        /* not started yet */
      }
    }
    expect(isAlive(pid)).toBe(true);
    k.keeper.kill('SIGTERM');
    expect(await k.exited).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(k.out()).not.toContain('restarting');
  }, 30_000);
});
