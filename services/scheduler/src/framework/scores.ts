/**
 * Scores (0–100, higher is better): least allocated resources, spreading of
 * pods that share a Service / ReplicaSet / ReplicationController selector,
 * and ScheduleAnyway topology spread. Pure.
 */
import { matches, type Selector } from '@kemu/api';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { cachedRequests, type NodeInfo } from './node-info.js';
import { spreadCounts } from './filters.js';

/** NodeResourcesLeastAllocated: the more left free after placing the pod, the better. */
export function leastAllocated(pod: Pod, n: NodeInfo): number {
  const req = cachedRequests(pod);
  const alloc = n.allocatable;
  // Kubernetes counts a request-less container as 100m cpu / 200Mi for scoring (DefaultMilliCPURequest, DefaultMemoryRequest).
  const cpu = n.requested.cpu + (req.cpu || 100);
  const mem = n.requested.memory + (req.memory || 200 * 2 ** 20);
  const free = (used: number, cap: number) => (cap > 0 ? Math.max(0, ((cap - used) * 100) / cap) : 0);
  return (free(cpu, alloc.cpu) + free(mem, alloc.memory)) / 2;
}

/** SelectorSpread: fewer pods of the same Service/ReplicaSet/RC on the node is better. `selectors` are those owners' selectors. */
export function selectorSpread(pod: Pod, nodes: NodeInfo[], selectors: Selector[]): Map<string, number> {
  const counts = new Map<string, number>();
  let max = 0;
  for (const n of nodes) {
    let c = 0;
    if (selectors.length) {
      for (const p of n.pods.values()) {
        if (p.metadata?.namespace === pod.metadata?.namespace && !p.metadata?.deletionTimestamp && selectors.some((s) => matches(s, p.metadata?.labels))) c++;
      }
    }
    counts.set(n.node.metadata?.name ?? '', c);
    max = Math.max(max, c);
  }
  const out = new Map<string, number>();
  for (const [name, c] of counts) out.set(name, max === 0 ? 100 : ((max - c) * 100) / max);
  return out;
}

/** ScheduleAnyway topology spread: smaller domains score higher. */
export function topologySpreadScore(pod: Pod, n: NodeInfo, all: NodeInfo[]): number {
  const soft = (pod.spec?.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
  if (!soft.length) return 0;
  let score = 0;
  for (const c of soft) {
    const counts = spreadCounts(pod, c, all);
    const max = Math.max(1, ...counts.values());
    const d = n.node.metadata?.labels?.[c.topologyKey];
    score += d === undefined ? 0 : ((max - (counts.get(d) ?? 0)) * 100) / max;
  }
  return score / soft.length;
}
