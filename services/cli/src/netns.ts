/**
 * The Linux plumbing of `kemu up`: one network namespace holding the
 * cluster's bridge, one namespace per service with a veth on that bridge and
 * the compose file's address, and a veth from the host onto the bridge so the
 * host reaches every address. Every name carries the project's prefix, so
 * `down` finds and removes exactly what `up` made.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCidr } from '@kemu/api';
import { killCgroup } from './process-signals.js';

export function ip(args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.stdout || '').trim()}`);
  return r.stdout ?? '';
}

/** `ip`, without blocking the CLI (its health checks and the services it starts meanwhile). */
function ipAsync(args: string[], opts: { allowFail?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && !opts.allowFail) reject(new Error(`ip ${args.join(' ')}: ${(stderr || stdout || err.message).trim()}`));
      else resolve(err ? '' : stdout);
    });
  });
}

/** Interface names are at most 15 bytes; long project names are hashed. */
export function shortName(project: string, suffix: string): string {
  const base = project === 'kemu' ? 'kemu' : `k${createHash('sha1').update(project).digest('hex').slice(0, 5)}`;
  return `${base}${suffix}`.slice(0, 15);
}

export interface NetworkPlan {
  project: string;
  subnet: string; // 172.28.0.0/16
  gateway: string; // 172.28.0.1
}

export const bridgeNs = (p: string) => `${p}-net`;
export const serviceNs = (p: string, svc: string) => `${p}-${svc}`;
const hostIf = (p: string) => shortName(p, '0');
/**
 * A service's leg on the bridge (the peer of its eth0), in the bridge namespace. Names past the 15 bytes an
 * interface name may have end in a hash of the service's name, so two long names with one beginning
 * (controller-manager, controller-manager-2) cannot share a leg.
 */
export const bridgeLeg = (svc: string) => {
  const name = `v-${svc}`;
  return name.length <= 15 ? name : `v-${svc.slice(0, 6)}${createHash('sha1').update(svc).digest('hex').slice(0, 7)}`;
};
const prefixLen = (subnet: string) => parseCidr(subnet).prefix;

export function listNamespaces(): string[] {
  return ip(['netns', 'list'], { allowFail: true })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
}

export function nsExists(name: string): boolean {
  return listNamespaces().includes(name);
}

/** The bridge namespace, its bridge, and the host's leg (gateway address). */
export function createNetwork(plan: NetworkPlan): void {
  const ns = bridgeNs(plan.project);
  if (!nsExists(ns)) ip(['netns', 'add', ns]);
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  if (!ip(['-n', ns, 'link', 'show', 'br0'], { allowFail: true })) {
    ip(['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
  }
  ip(['-n', ns, 'link', 'set', 'br0', 'up']);
  const h = hostIf(plan.project);
  if (!ip(['link', 'show', h], { allowFail: true })) {
    ip(['link', 'add', h, 'type', 'veth', 'peer', 'name', 'host0', 'netns', ns]);
  }
  ip(['-n', ns, 'link', 'set', 'host0', 'master', 'br0', 'up']);
  ip(['addr', 'replace', `${plan.gateway}/${prefixLen(plan.subnet)}`, 'dev', h]);
  ip(['link', 'set', h, 'up']);
}

/** A service's namespace with `address` on eth0, its default route via the host. */
export async function createServiceNs(plan: NetworkPlan, svc: string, address: string): Promise<void> {
  const ns = serviceNs(plan.project, svc);
  const bns = bridgeNs(plan.project);
  const leg = bridgeLeg(svc);
  if (!existsSync(`/run/netns/${ns}`)) await ipAsync(['netns', 'add', ns]);
  await ipAsync(['-n', ns, 'link', 'set', 'lo', 'up']);
  if (!(await ipAsync(['-n', ns, 'link', 'show', 'eth0'], { allowFail: true }))) {
    await ipAsync(['-n', bns, 'link', 'del', leg], { allowFail: true });
    await ipAsync(['-n', bns, 'link', 'add', leg, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  }
  await ipAsync(['-n', bns, 'link', 'set', leg, 'master', 'br0', 'up']);
  await ipAsync(['-n', ns, 'addr', 'replace', `${address}/${prefixLen(plan.subnet)}`, 'dev', 'eth0']);
  await ipAsync(['-n', ns, 'link', 'set', 'eth0', 'up']);
  await ipAsync(['-n', ns, 'route', 'replace', 'default', 'via', plan.gateway]);
}

/** Pids of every process inside a namespace. */
export function nsPids(ns: string): number[] {
  return ip(['netns', 'pids', ns], { allowFail: true })
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

/** Remove the project's namespaces (the bridge's and `services`') and its host interface. Returns what was removed. */
export function destroyNetwork(project: string, services: string[]): string[] {
  const removed: string[] = [];
  const mine = new Set([bridgeNs(project), ...services.map((s) => serviceNs(project, s))]);
  for (const ns of listNamespaces()) {
    // Pods' namespaces are named `<project>-p-<uid>` by the kubelets.
    if (mine.has(ns) || ns.startsWith(`${project}-p-`)) {
      for (const pid of nsPids(ns)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      ip(['netns', 'del', ns], { allowFail: true });
      removed.push(`netns ${ns}`);
    }
  }
  // Memory cgroups of the project's containers (the kubelets name them `<project>-p-<container>`).
  for (const root of ['/sys/fs/cgroup/memory', '/sys/fs/cgroup']) {
    let dirs: string[] = [];
    try {
      dirs = readdirSync(root).filter((d) => d.startsWith(`${project}-p-`));
    } catch {
      continue;
    }
    for (const d of dirs) if (removeCgroup(join(root, d))) removed.push(`cgroup ${join(root, d)}`);
  }
  const h = hostIf(project);
  if (ip(['link', 'show', h], { allowFail: true })) {
    ip(['link', 'del', h], { allowFail: true });
    removed.push(`link ${h}`);
  }
  return removed;
}

/**
 * rmdir of a container's cgroup, which is busy until its last process has exited: what is still in it is killed (a
 * process no namespace held), and the rmdir tried again for up to 2 s.
 */
function removeCgroup(dir: string): boolean {
  for (let i = 0; i < 40; i++) {
    try {
      rmdirSync(dir);
      return true;
    } catch {
      killCgroup(dir);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  return false;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function haveCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
