/**
 * Containers as processes. A container runs inside its pod's network
 * namespace, in UTS and mount namespaces of its own: its root is an overlay
 * of the machine's root with a private writable layer (so mount points and
 * writes never touch the host), with /proc, /dev, /sys and a /tmp of its
 * own, the kubelet's files and the pod's volumes bind-mounted at their
 * paths, and the pod's hostname. The process is started in a process group
 * of its own, so signals reach everything it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Mount {
  /** A file or directory on the node. */
  source: string;
  /** Where it appears in the container. */
  target: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  /** Unique per container instance; names its state directory. */
  id: string;
  /** The pod's network namespace. */
  podNs: string;
  hostname: string;
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  mounts: Mount[];
  /** Where the container's directories go (upper layer, work dir, mount point). */
  stateDir: string;
  /** stdout and stderr go here. */
  logPath: string;
}

export interface RunningContainer {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signal the container's whole process group. */
  signal(sig: NodeJS.Signals): void;
}

// Runs inside the new mount/UTS namespaces; every value arrives as a positional argument, never as shell text.
const SETUP = `set -e
root=$1 upper=$2 work=$3 host=$4 wd=$5 n=$6; shift 6
hostname "$host"
mount -t overlay overlay -o "lowerdir=/,upperdir=$upper,workdir=$work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t tmpfs tmpfs "$root/tmp"
i=0
while [ "$i" -lt "$n" ]; do
  src=$1 dst=$2 ro=$3; shift 3
  if [ -d "$src" ]; then mkdir -p "$root$dst"; else mkdir -p "$root$(dirname "$dst")"; [ -e "$root$dst" ] || : > "$root$dst"; fi
  mount --bind "$src" "$root$dst"
  if [ "$ro" = 1 ]; then mount -o remount,bind,ro "$root$dst"; fi
  i=$((i+1))
done
exec chroot "$root" /bin/sh -c 'cd "$0" 2>/dev/null || cd /; exec "$@"' "$wd" "$@"
`;

export function startContainer(spec: ContainerSpec): RunningContainer {
  const dir = join(spec.stateDir, spec.id);
  for (const d of ['upper', 'work', 'root']) mkdirSync(join(dir, d), { recursive: true });
  const args = [join(dir, 'root'), join(dir, 'upper'), join(dir, 'work'), spec.hostname, spec.workingDir ?? '/', String(spec.mounts.length)];
  for (const m of spec.mounts) args.push(m.source, m.target, m.readOnly ? '1' : '0');
  const log = openSync(spec.logPath, 'a');
  const child: ChildProcess = spawn('ip', ['netns', 'exec', spec.podNs, 'unshare', '--uts', '--mount', '--propagation', 'private', 'sh', '-c', SETUP, 'sh', ...args, ...spec.argv], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...spec.env },
  });
  closeSync(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    pid: child.pid!,
    exited,
    signal(sig) {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* already gone */
      }
    },
  };
}

/** Remove a container's directories once it has exited (its mounts died with its namespace). */
export function removeContainer(stateDir: string, id: string): void {
  rmSync(join(stateDir, id), { recursive: true, force: true });
}
