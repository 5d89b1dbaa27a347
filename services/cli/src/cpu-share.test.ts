import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { drainLowShareGroup, inGroup, lowShareGroup } from './cpu-share.js';

const cpuLine = (pid: number) =>
  readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes('cpu')) ?? '';

describe('the low CPU share group of services started early', () => {
  it('joins the group before running the command (exec: the same process)', () => {
    expect(inGroup('/g', ['sh', 'keeper.sh', 'x'])).toEqual([
      'sh',
      '-c',
      '{ echo $$ >"$1/cgroup.procs"; } 2>/dev/null; shift; exec "$@"',
      'sh',
      '/g',
      'sh',
      'keeper.sh',
      'x',
    ]);
  });

  const v1 = existsSync('/sys/fs/cgroup/cpu/cgroup.procs') && process.getuid?.() === 0;
  it.skipIf(!v1)('holds a process at cpu.shares 2, and drains it back to the CLI own group before it goes', async () => {
    const project = `unit-${process.pid}`;
    const group = lowShareGroup(project);
    expect(group).toBeDefined();
    try {
      expect(readFileSync(`${group}/cpu.shares`, 'utf8').trim()).toBe('2');
      const [cmd = 'sh', ...args] = inGroup(group!, ['sleep', '30']);
      const child = spawn(cmd, args, { stdio: 'ignore' });
      for (let i = 0; i < 100 && !cpuLine(child.pid!).includes(`kemu.${project}.starting`); i++) await new Promise((r) => setTimeout(r, 20));
      expect(cpuLine(child.pid!)).toContain(`kemu.${project}.starting`);
      expect(drainLowShareGroup(project)).toBe(true);
      expect(existsSync(group!)).toBe(false);
      expect(cpuLine(child.pid!)).toBe(cpuLine(process.pid));
      child.kill('SIGKILL');
    } finally {
      drainLowShareGroup(project);
    }
  });
});
