/**
 * Containers as processes. A container runs inside its pod's network
 * namespace, in UTS and mount namespaces of its own: its root is an overlay
 * of the machine's root with a private writable layer (so mount points and
 * writes never touch the host) which starts with the image's own files (its
 * layers) when it has some, with /proc, /dev, /sys and a /tmp of its own,
 * the kubelet's files and the pod's volumes bind-mounted at their paths,
 * and the pod's hostname.
 *
 * A small shell stays beside the program (as conmon does for CRI-O): it
 * records the program's pid, forwards SIGTERM/SIGINT, and writes the exit
 * code to a file, so a restarted kubelet finds its containers again and
 * still learns how they ended. Output goes through FIFOs the kubelet reads
 * (the shell keeps them open, so a kubelet restart never breaks a
 * container's stdout); stdin, when the spec asks for it, is a FIFO too,
 * whose both ends the kubelet opens before the container starts: the read
 * end is handed to the container as it is (so its start never waits for a
 * writer), the write end stays with the runtime handle, and closing it is
 * end of file for the program whether it has started reading or not. A
 * memory limit is a cgroup (v1 or v2) the shell joins before anything runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { constants as osConstants } from 'node:os';
import { withUsers, type ImageUser } from './rootfs.js';

export type { ImageUser } from './rootfs.js';

export interface Mount {
  /** A file or directory on the node. */
  source: string;
  /** Where it appears in the container. */
  target: string;
  readOnly?: boolean;
}

/** What a container is started with (the CRI's ContainerConfig, resolved by the kubelet). */
export interface ContainerConfig {
  /** The container ID: unique per start, names its state directory. */
  id: string;
  /** The pod's network namespace. */
  podNs: string;
  hostname: string;
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  /** The image's files: directories laid over the node's root, top first (the image's layers), on the node. */
  layers?: string[];
  /** Users and groups the image's /etc/passwd and /etc/group have, added where the node's lack them. */
  users?: ImageUser[];
  mounts: Mount[];
  /** Where the container's directories go (upper layer, work dir, mount point, FIFOs). */
  stateDir: string;
  /** Keep stdin open for attach (spec.stdin). */
  stdin?: boolean;
  /** Run under a terminal (spec.tty). */
  tty?: boolean;
  /** Memory limit in bytes (resources.limits.memory). */
  memoryLimit?: number;
  /** The image's STOPSIGNAL (nginx's is SIGQUIT: finish the requests in flight); SIGTERM when it has none. */
  stopSignal?: NodeJS.Signals;
}

export interface ExitInfo {
  code: number;
  oomKilled: boolean;
}

/** The part of a handle that survives a kubelet restart (handle.json): enough to find the container again. */
export interface SavedHandle {
  id: string;
  dir: string;
  /** The shell beside the program. */
  pid: number;
  /** /proc/<pid>/stat start time, so a recycled pid is not mistaken for it. */
  startTicks: string;
  cgroup?: string;
  /** What stop() sends first. */
  stopSignal?: NodeJS.Signals;
}

/** The runtime handle of a container: how the kubelet signals it, learns its end and feeds its stdin. */
export interface ContainerHandle extends SavedHandle {
  exited: Promise<ExitInfo>;
  /** Signal the container's whole process group. */
  signal(sig: NodeJS.Signals): void;
  /** Ask the container to stop: its image's stop signal, as a runtime's StopContainer does. */
  stop(): void;
  /** The program's pid (for exec), once known. */
  programPid(): number | undefined;
  /** The same, waiting up to `ms` for the shell to write it (it does a moment after start). */
  waitProgramPid(ms: number): Promise<number | undefined>;
  /** stdout FIFO (and stderr; one stream under a tty). */
  fifos: { out: string; err?: string };
  /** Write to the program's stdin; what does not fit in a full pipe is dropped (the kubelet never blocks). */
  writeStdin(data: Buffer): void;
  /** End the program's stdin: it reads end of file, before or after it started reading. Idempotent. */
  closeStdin(): void;
}

/** The usual PATH, then node's directory (images run `node`) and the images' tools (nc, nslookup). */
export const PATH = `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${dirname(process.execPath)}:/.kemu/images/bin`;

// Runs inside the new mount/UTS namespaces; every value arrives as a positional argument, never as shell text.
// Few processes: mount points are made by the kubelet in the upper layer beforehand, the hostname is a write to
// /proc, and a read-only bind is one mount call (pod startup on a small machine is mostly process creation).
const SETUP = `set -e
dir=$1 host=$2 wd=$3 n=$4; shift 4
root=$dir/root
# The program's stdin arrives as ours (the read end of its FIFO, or /dev/null): keep it aside for the program.
exec 7<&0 </dev/null
# Hold both ends of the output FIFOs: writes never fail while the kubelet is away.
exec 8<>"$dir/out" 9<>"$dir/err" >"$dir/out" 2>"$dir/err"
echo "$host" > /proc/sys/kernel/hostname
mount -t overlay overlay -o "lowerdir=/,upperdir=$dir/upper,workdir=$dir/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
# A sysfs of this network namespace: /sys/class/net shows the pod's interfaces.
mount -t sysfs -o ro sysfs "$root/sys"
mount -t tmpfs tmpfs "$root/tmp"
i=0
while [ "$i" -lt "$n" ]; do
  src=$1 dst=$2 ro=$3; shift 3
  if [ "$ro" = 1 ]; then mount -o bind,ro "$src" "$root$dst"; else mount --bind "$src" "$root$dst"; fi
  i=$((i+1))
done
set +e
# A working directory the image lacks is made, as runc does (redis' /data).
chroot "$root" /bin/sh -c 'cd "$0" 2>/dev/null || { mkdir -p "$0" && cd "$0"; } 2>/dev/null || cd /; exec "$@"' "$wd" "$@" <&7 7<&- 8>&- 9>&- &
pid=$!
exec 7<&-
echo $pid > "$dir/pid"
trap 'kill -TERM $pid 2>/dev/null' TERM
trap 'kill -INT $pid 2>/dev/null' INT
trap 'kill -QUIT $pid 2>/dev/null' QUIT
wait $pid; code=$?
while kill -0 $pid 2>/dev/null; do wait $pid; code=$?; done
echo $code > "$dir/exit"
exit $code
`;

const execFileAsync = promisify(execFile);
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Where memory cgroups go: v2 if the unified hierarchy has the memory controller, else v1's memory hierarchy. */
function cgroupRoot(): { dir: string; v2: boolean } | undefined {
  try {
    if (readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('memory')) return { dir: '/sys/fs/cgroup', v2: true };
  } catch {
    /* not v2 */
  }
  return existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') ? { dir: '/sys/fs/cgroup/memory', v2: false } : undefined;
}

function makeCgroup(name: string, limit: number): string | undefined {
  const root = cgroupRoot();
  if (!root) return undefined;
  const dir = join(root.dir, name);
  try {
    mkdirSync(dir, { recursive: true });
    if (root.v2) writeFileSync(join(dir, 'memory.max'), String(limit));
    else {
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limit));
      try {
        writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), String(limit)); // no escape into swap
      } catch {
        /* no swap accounting */
      }
    }
    return dir;
  } catch {
    return undefined; // the machine does not allow it: run without the limit
  }
}

function oomKilled(cgroup: string | undefined): boolean {
  if (!cgroup) return false;
  for (const [f, re] of [
    ['memory.events', /oom_kill (\d+)/],
    ['memory.oom_control', /oom_kill (\d+)/],
  ] as const) {
    try {
      if (Number(re.exec(readFileSync(join(cgroup, f), 'utf8'))?.[1] ?? 0) > 0) return true;
    } catch {
      /* the other version */
    }
  }
  return false;
}

function removeCgroup(cgroup: string | undefined): void {
  if (!cgroup) return;
  try {
    rmdirSync(cgroup); // a cgroup directory goes with rmdir, its control files with it
  } catch {
    /* busy or gone */
  }
}

function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited; nobody reaped it yet
    return fields[19];
  } catch {
    return undefined;
  }
}

function readExit(h: SavedHandle, fallback: number): ExitInfo {
  let code = fallback;
  try {
    code = Number(readFileSync(join(h.dir, 'exit'), 'utf8').trim());
  } catch {
    /* killed with the shell (SIGKILL) */
  }
  const oom = oomKilled(h.cgroup);
  removeCgroup(h.cgroup);
  return { code: oom ? 137 : code, oomKilled: oom };
}

/** The write end of a program's stdin FIFO, held by the runtime handle; undefined once closed. */
function stdinWriter(fd: number | undefined): Pick<ContainerHandle, 'writeStdin' | 'closeStdin'> {
  let cur = fd;
  return {
    writeStdin(data) {
      if (cur === undefined) return;
      try {
        writeSync(cur, data); // non-blocking: a full pipe is EAGAIN, never a stalled kubelet
      } catch {
        /* full pipe, or the program is gone */
      }
    },
    closeStdin() {
      if (cur === undefined) return;
      closeSync(cur);
      cur = undefined; // the number may belong to another file from now on
    },
  };
}

function running(h: SavedHandle, exited: Promise<ExitInfo>, stdin: number | undefined, tty: boolean): ContainerHandle {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-h.pid, sig);
    } catch {
      /* already gone */
    }
  };
  const programPid = () => {
    try {
      return Number(readFileSync(join(h.dir, 'pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  return {
    ...h,
    exited,
    fifos: { out: join(h.dir, 'out'), err: tty ? undefined : join(h.dir, 'err') },
    ...stdinWriter(stdin),
    signal,
    stop: () => signal(h.stopSignal ?? 'SIGTERM'),
    programPid,
    async waitProgramPid(ms) {
      const end = Date.now() + ms;
      let pid = programPid();
      while (!pid && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
        pid = programPid();
      }
      return pid;
    },
  };
}

/**
 * A mount target as the container's root resolves it. That root is an
 * overlay of the node's, so its symlinks are the node's: /var/run/secrets
 * is /run/secrets there too, and mounting on the unresolved path would
 * follow the link out to the node's own /run.
 */
export function resolveInRoot(target: string): string {
  let head = target;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      if (head === '/' || head === '') return target;
      tail.push(basename(head));
      head = dirname(head);
    }
  }
}

export async function startContainer(spec: ContainerConfig, cgroupName?: string): Promise<ContainerHandle> {
  const dir = join(spec.stateDir, spec.id);
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['upper', 'work', 'root']) mkdirSync(join(dir, d), { recursive: true });
  // One mkfifo for all, without blocking the event loop (many pods start at once).
  await execFileAsync(
    'mkfifo',
    ['out', 'err', ...(spec.stdin ? ['in'] : [])].map((f) => join(dir, f)),
  );
  // Both ends of stdin before the container exists: the writer first (read-write, so its open never waits), then
  // the reader, which a writer lets open at once (and blocking, as a program expects its stdin). Closing the
  // writer is then end of file for the program whenever it happens, even before the program's first read.
  const stdinW = spec.stdin ? openSync(join(dir, 'in'), constants.O_RDWR | constants.O_NONBLOCK) : undefined;
  const stdinR = spec.stdin ? openSync(join(dir, 'in'), constants.O_RDONLY) : undefined;
  const cgroup = spec.memoryLimit ? makeCgroup(cgroupName ?? `kemu-${spec.id}`, spec.memoryLimit) : undefined;
  // A terminal: `script` gives the program a pty and copies it to stdout.
  const argv = spec.tty ? ['script', '-qfec', spec.argv.map(quote).join(' '), '/dev/null'] : spec.argv;
  const args = [dir, spec.hostname, spec.workingDir ?? '/', String(spec.mounts.length)];
  // The image's files start the writable layer, bottom layer first so the top one wins. Not extra lower layers:
  // overlayfs refuses a lower layer inside another (images/ is inside the node's root), and these are a few
  // small files, copied once per container and private to it like everything it writes.
  for (const layer of [...(spec.layers ?? [])].reverse())
    cpSync(layer, join(dir, 'upper'), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  if (spec.users?.length) {
    // The node's accounts plus the image's, in the container's own /etc (the upper layer): the node's stay as they are.
    mkdirSync(join(dir, 'upper', 'etc'), { recursive: true });
    for (const [file, text] of Object.entries(withUsers(readFileSync('/etc/passwd', 'utf8'), readFileSync('/etc/group', 'utf8'), spec.users)))
      writeFileSync(join(dir, 'upper', 'etc', file), text);
  }
  for (const m of spec.mounts) {
    const target = resolveInRoot(m.target);
    // The mount point, in the upper layer (it shows through the overlay): a directory, or a file for a file.
    const point = join(dir, 'upper', target);
    if (statSync(m.source).isDirectory()) mkdirSync(point, { recursive: true });
    else {
      mkdirSync(dirname(point), { recursive: true });
      writeFileSync(point, '');
    }
    args.push(m.source, target, m.readOnly ? '1' : '0');
  }
  // The cgroup is joined first (a tiny shell), then the pod's network namespace, then new UTS and mount namespaces.
  const join_ = cgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup] : [];
  let child: ChildProcess;
  try {
    child = spawn(
      join_[0] ?? 'nsenter',
      [
        ...join_.slice(1),
        ...(cgroup ? ['nsenter'] : []),
        `--net=/run/netns/${spec.podNs}`,
        'unshare',
        '--uts',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        SETUP,
        'sh',
        ...args,
        ...argv,
      ],
      {
        detached: true,
        stdio: [stdinR ?? 'ignore', 'ignore', 'ignore'],
        env: { PATH, TERM: spec.tty ? 'xterm' : undefined, ...spec.env },
      },
    );
  } catch (e) {
    if (stdinW !== undefined) closeSync(stdinW);
    throw e;
  } finally {
    if (stdinR !== undefined) closeSync(stdinR); // the container has its own copy
  }
  const pid = child.pid!;
  child.unref();
  const h: SavedHandle = { id: spec.id, dir, pid, startTicks: startTicks(pid) ?? '', cgroup, stopSignal: spec.stopSignal };
  writeFileSync(join(dir, 'handle.json'), JSON.stringify({ ...h, tty: !!spec.tty, stdin: !!spec.stdin }));
  const exited = new Promise<ExitInfo>((resolve) =>
    child.on('exit', (code, signal) => resolve(readExit(h, code ?? (signal === 'SIGKILL' ? 137 : signal ? 128 + (osConstants.signals[signal] ?? 15) : 1)))),
  );
  return running(h, exited, stdinW, !!spec.tty);
}

/**
 * A container a previous kubelet started: alive (same pid, same start
 * time) → a handle whose `exited` resolves when it goes (polled: it is not
 * our child); gone → its exit as the shell recorded it. Undefined when
 * there is nothing to find.
 */
export function adoptContainer(stateDir: string, id: string, pollMs = 1000): ContainerHandle | undefined {
  const dir = join(stateDir, id);
  let saved: SavedHandle & { tty: boolean; stdin: boolean };
  try {
    saved = JSON.parse(readFileSync(join(dir, 'handle.json'), 'utf8')) as typeof saved; // written by startContainer
  } catch {
    return undefined;
  }
  const alive = () => startTicks(saved.pid) === saved.startTicks;
  const exited = new Promise<ExitInfo>((resolve) => {
    const check = () => (alive() ? setTimeout(check, pollMs).unref() : resolve(readExit(saved, 137)));
    check();
  });
  // The previous kubelet's stdin writer died with it: the program has seen end of file already.
  return running(saved, exited, undefined, saved.tty);
}

/** Remove a container's directories once it has exited (its mounts died with its namespace). */
export function removeContainer(stateDir: string, id: string): void {
  rmSync(join(stateDir, id), { recursive: true, force: true });
}

/**
 * Open a FIFO without blocking: read-write, so the kubelet holds a writer
 * too and never sees an early end of file before the shell opens its side
 * (the end of a container is its exit, not EOF).
 */
export function openFifo(path: string): number {
  return openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
}
