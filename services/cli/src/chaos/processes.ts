/**
 * The one place `kemu chaos` touches processes under the namespace driver:
 * which processes make up a service (for a node: its kubelet, its kube-proxy
 * and every container its kubelet started, wherever they were reparented),
 * signalling them all at once, and starting a service again through the
 * Cluster (under its keeper, which the verbs stop first so that nothing they
 * took down is restarted behind them).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../cluster.js';
import { isAlive } from '../process-signals.js';
import type { ComposeService } from '../compose.js';
import { HealthWaits } from '../health.js';
import { nsPids, serviceNs } from '../netns.js';

/** Parent of every live process, from /proc (a process that is gone meanwhile is skipped). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      out.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** `roots` and all their descendants. Pure over the parent map. */
export function descendants(roots: number[], parentOf: Map<number, number>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentOf) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const seen = new Set<number>();
  const stack = roots.filter((p) => parentOf.has(p));
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    stack.push(...(children.get(p) ?? []));
  }
  return [...seen];
}

/** The containers a node's kubelet started: the shells recorded in its state (handle.json), alive or not. */
function containerPids(cluster: Cluster, node: string): number[] {
  const dir = join(cluster.state, 'nodes', node, 'containers');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((id) => {
    try {
      const h = JSON.parse(readFileSync(join(dir, id, 'handle.json'), 'utf8')) as { pid?: number };
      return h.pid ? [h.pid] : [];
    } catch {
      return [];
    }
  });
}

/** The compose services a target names: a node's are its kubelet (node-N) and the processes sharing its namespace. */
export function servicesOf(all: ComposeService[], target: string): ComposeService[] {
  return all.filter((s) => s.name === target || s.netns === target);
}

/** Every live process of a target: what runs in its network namespace, its services' pids, its containers, and their children. */
export function processesOf(cluster: Cluster, target: string): number[] {
  const services = servicesOf(cluster.compose().services, target);
  const roots = [
    ...nsPids(serviceNs(cluster.project, target)),
    ...services.map((s) => cluster.pidOf(s.name)).filter((p): p is number => isAlive(p)),
    ...containerPids(cluster, target),
  ];
  return descendants(roots, parents()).filter((p) => p !== process.pid);
}

/** Send `sig` to every pid (one that is gone meanwhile is skipped). */
export function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

/** Wait until none of `pids` is alive, at most `ms`; the survivors. */
export async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter((p) => isAlive(p));
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter((p) => isAlive(p));
  }
  return left;
}

/** Start a target's services that do not run, and wait for its healthcheck. */
export async function startTarget(cluster: Cluster, target: string): Promise<string[]> {
  const all = cluster.compose().services;
  const services = servicesOf(all, target).filter((s) => !s.oneShot && cluster.serviceState(s) !== 'running');
  cluster.startServices(services.map((s) => s.name));
  const health = new HealthWaits(all, {
    netns: (s) => serviceNs(cluster.project, all.find((x) => x.name === s)?.netns ?? s),
    alive: (s) => cluster.serviceAlive(s),
    tail: (s) => cluster.tail(s),
  });
  const main = all.find((s) => s.name === target);
  if (main) await health.wait(main);
  return services.map((s) => s.name);
}
