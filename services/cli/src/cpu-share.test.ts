import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { drainLowShareGroup, inGroup, lowShareGroup } from './cpu-share.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

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

  it.skipIf(!v1)(
    'is drained when the CLI is interrupted (Ctrl-C during up), which then ends by the signal',
    async () => {
      const project = `unit-sig-${process.pid}`;
      const group = lowShareGroup(project);
      // A CLI that started a service in the group and waits, as `up` does for its api-server.
      const script = `
      import { spawn } from 'node:child_process';
      import { drainOnSignal, inGroup, lowShareGroup } from './cpu-share.ts';
      const [cmd, ...args] = inGroup(lowShareGroup(${JSON.stringify(project)}), ['sleep', '30']);
      const svc = spawn(cmd, args, { stdio: 'ignore', detached: true });
      svc.unref();
      drainOnSignal(${JSON.stringify(project)});
      setTimeout(() => console.log(svc.pid), 200);
      setInterval(() => undefined, 1000);`;
      const cli = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: HERE, stdio: ['ignore', 'pipe', 'inherit'] });
      let svc = 0;
      try {
        const [line] = (await once(cli.stdout, 'data')) as [Buffer];
        svc = Number(line.toString().trim());
        expect(cpuLine(svc)).toContain(`kemu.${project}.starting`);
        const ended = once(cli, 'exit');
        cli.kill('SIGINT');
        const [code, signal] = (await ended) as [number | null, string | null];
        expect({ code, signal }).toEqual({ code: null, signal: 'SIGINT' });
        expect(existsSync(group!)).toBe(false);
        expect(cpuLine(svc)).toBe(cpuLine(process.pid));
      } finally {
        cli.kill('SIGKILL');
        if (svc) process.kill(svc, 'SIGKILL');
        drainLowShareGroup(project);
      }
    },
    20_000,
  );
});
