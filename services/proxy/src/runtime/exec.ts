/**
 * Running the kernel's tools (iptables-restore, iptables-save, nft). Always an
 * async spawn: a sync that waits for iptables-restore must not stop the event
 * loop, or /healthz, /metrics and the watch streams would stall with it.
 */
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command, optionally feeding `input` on stdin; never rejects for a non-zero exit (it is in `code`). */
export type Exec = (cmd: string, args: readonly string[], input?: string) => Promise<ExecResult>;

/** A tool that failed: its command line, exit code and what it said, for the log's `err`. */
export class ToolError extends Error {
  constructor(
    readonly command: string,
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`${command} exited with ${code}: ${stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
    this.name = 'ToolError';
  }
}

export const spawnExec: Exec = (cmd, args, input) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    // A missing binary is an exit code like any other: the caller decides whether it matters.
    child.on('error', (e) => resolve({ code: 127, stdout: '', stderr: e.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined); // the tool may exit before reading everything; its exit code says why
    child.stdin.end(input ?? '');
  });

/** Run and throw a ToolError unless it exits 0; the stdout otherwise. */
export async function run(exec: Exec, cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await exec(cmd, args, input);
  if (r.code !== 0) throw new ToolError(`${cmd} ${args.join(' ')}`, r.code, r.stderr || r.stdout);
  return r.stdout;
}
