/**
 * Running a command inside a container that is already running (kubectl
 * exec, exec probes, preStop hooks): nsenter into the program's network,
 * UTS and mount namespaces, its root and working directory, with the
 * container's environment. A terminal comes from `script`, as for
 * containers started with tty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PATH } from './container.js';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function execIn(pid: number, argv: string[], env: Record<string, string>, o: { tty?: boolean; stdin?: boolean } = {}): ChildProcess {
  const cmd = o.tty ? ['script', '-qfec', argv.map(quote).join(' '), '/dev/null'] : argv;
  return spawn('nsenter', ['-t', String(pid), '-n', '-u', '-m', '--root', '--wd', '--', ...cmd], {
    stdio: [o.stdin || o.tty ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { PATH, ...(o.tty ? { TERM: 'xterm' } : {}), ...env },
    detached: true,
  });
}

/** Run to completion with a deadline; output capped (probes and hooks read little). */
export function execCapture(
  pid: number,
  argv: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const p = execIn(pid, argv, env);
    let output = '';
    const take = (d: Buffer) => {
      if (output.length < 10_240) output += d.toString();
    };
    p.stdout!.on('data', take);
    p.stderr!.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 126, output: String(e), timedOut });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, output, timedOut });
    });
  });
}
