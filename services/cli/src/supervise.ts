/**
 * The node container's init under Docker: runs every `--process=NAME argv...`
 * segment (the kubelet and kube-proxy), prefixes nothing (each logs JSON with its
 * own name), passes SIGTERM/SIGINT on, and when one process ends stops the others
 * and exits with its code, so the container's restart policy brings the node back
 * whole. `kemu up` does not run this: it runs the segments itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { segments } from './processes.js';

const procs = segments(process.argv.slice(2));
// A container that is not privileged gets /proc/sys read-only; the node's own (network-namespaced) sysctls are the
// kubelet's and kube-proxy's to set, as on a real node. With CAP_SYS_ADMIN the mount can be made writable again.
spawnSync('mount', ['-o', 'remount,rw', '/proc/sys'], { stdio: 'ignore' });
// One node, one name for both processes: the container's hostname, which the kubelet registers by default and
// kube-proxy must be told (`kemu up` sets NODE_NAME itself).
const env = { ...process.env, NODE_NAME: process.env.NODE_NAME ?? hostname() };
const children = new Map<string, ChildProcess>();
let exitCode: number | undefined;

const stopAll = (sig: NodeJS.Signals): void => {
  for (const c of children.values()) c.kill(sig);
};

for (const p of procs) {
  const [cmd, ...args] = p.command;
  const child = spawn(cmd === 'node' ? process.execPath : cmd, args, { stdio: 'inherit', env });
  children.set(p.name, child);
  child.on('exit', (code, signal) => {
    children.delete(p.name);
    if (exitCode === undefined) {
      exitCode = code ?? 1;
      process.stderr.write(`supervise: ${p.name} exited (${signal ?? code}); stopping the others\n`);
      stopAll('SIGTERM');
    }
    if (children.size === 0) process.exit(exitCode);
  });
}
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    exitCode ??= 0;
    stopAll(sig);
  });
}
