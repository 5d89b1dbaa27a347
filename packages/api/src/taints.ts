/**
 * Taints and tolerations, as the scheduler, the DaemonSet controller and the
 * taint eviction controller all read them (k8s.io/api/core/v1's
 * ToleratesTaint and the taint manager's minimum toleration time).
 */
import type { Taint as FullTaint, Toleration } from 'kubernetes-types/core/v1.js';

/** A taint as read here: every field optional, so callers may pass taints they build or read loosely. */
type Taint = Partial<FullTaint>;

/** Does this one toleration tolerate the taint? An empty key with Exists tolerates everything (of its effect). */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

export function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => toleratesTaint(t, taint));
}

/**
 * When a pod on a node with these NoExecute taints must go: 'now' when one
 * taint is not tolerated, 'never' when every matching toleration is without
 * tolerationSeconds, else the time (ms) the shortest toleration runs out,
 * counted from when its taint was added.
 */
export function evictionTime(tolerations: Toleration[], taints: Taint[], now: number): 'now' | 'never' | number {
  let at: number | undefined;
  for (const taint of taints.filter((x) => x.effect === 'NoExecute')) {
    const matching = tolerations.filter((t) => toleratesTaint(t, taint));
    if (!matching.length) return 'now';
    const added = Date.parse(taint.timeAdded ?? '') || now;
    for (const t of matching) {
      if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
      const until = added + Math.max(0, Number(t.tolerationSeconds)) * 1000;
      at = at === undefined ? until : Math.min(at, until);
    }
  }
  if (at === undefined) return 'never';
  return at <= now ? 'now' : at;
}
