/** Pure facts about pods that several controllers share. */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { Obj } from '../typed.js';

export function isActive(pod: Obj<Pod>): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** The pods bound to a node (PodGC, node lifecycle and taint eviction all act on a node's pods). */
export function podsOnNode<P extends Pod>(pods: readonly P[], node: string): P[] {
  return pods.filter((p) => p.spec?.nodeName === node);
}

export function isReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Ready for at least minReadySeconds. */
export function isAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready) return false;
  if (!minReadySeconds) return true;
  const since = Date.parse(ready.lastTransitionTime ?? '');
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now;
}

export function controllerRef(obj: { metadata?: ObjectMeta }): OwnerReference | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((o) => o.controller);
}

export function ownerRefFor(owner: { apiVersion?: string; kind?: string; metadata: ObjectMeta }): OwnerReference {
  return { apiVersion: owner.apiVersion!, kind: owner.kind!, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/**
 * The order in which surplus pods go (Kubernetes' ActivePods ranking):
 * unscheduled before scheduled, pending before unknown before running,
 * not ready before ready, ready for less time first, more restarts first,
 * newer before older.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const scheduled = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  const phaseRank = (p: Pod) => (({ Pending: 0, Unknown: 1, Running: 2 }) as Record<string, number>)[p.status?.phase ?? 'Pending'] ?? 0;
  const ready = (p: Pod) => (isReady(p) ? 1 : 0);
  const restarts = (p: Pod) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  const created = (p: Pod) => Date.parse(p.metadata?.creationTimestamp ?? '') || 0;
  return scheduled(a) - scheduled(b) || phaseRank(a) - phaseRank(b) || ready(a) - ready(b) || restarts(b) - restarts(a) || created(b) - created(a);
}
