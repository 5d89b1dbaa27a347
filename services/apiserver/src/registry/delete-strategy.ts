/**
 * What a DELETE does to an object (the graceful-deletion part of
 * Kubernetes' rest.BeforeDelete and the strategies' CheckGracefulDelete):
 * remove it now, or write it back with deletionTimestamp set and wait — for
 * the kubelet to stop a pod within its grace period, for finalizers
 * (including the propagation ones, orphan and foregroundDeletion), or for
 * the namespace controller to empty a namespace. Pure.
 */
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import { formatTime, type DeleteOptions, type KubeObject, type ResourceInfo } from '@kemu/api';

/** undefined to remove the object now, or the object to write instead. */
export function planDelete(info: ResourceInfo, obj: KubeObject, options: DeleteOptions, now: Date): KubeObject | undefined {
  const meta = obj.metadata;
  const finalizers = [...(meta.finalizers ?? [])];
  const policy = options.propagationPolicy ?? (options.orphanDependents ? 'Orphan' : undefined);
  if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
  if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
  if (info.storage === 'namespaces') {
    // The namespace controller empties it and then removes the `kubernetes` finalizer.
    const ns = obj as Namespace;
    if (meta.deletionTimestamp) return (ns.spec?.finalizers ?? []).length || finalizers.length ? obj : undefined;
    return {
      ...obj,
      metadata: { ...meta, deletionTimestamp: formatTime(now), deletionGracePeriodSeconds: 0, finalizers: finalizers.length ? finalizers : undefined },
      status: { ...(ns.status ?? {}), phase: 'Terminating' },
    };
  }
  let grace = 0;
  if (info.storage === 'pods') {
    const pod = obj as Pod;
    const spec = pod.spec ?? { containers: [] };
    const phase = pod.status?.phase;
    grace = options.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
    // Nothing runs the pod, or it has finished: nothing to wait for.
    if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
    if (meta.deletionGracePeriodSeconds !== undefined) grace = Math.min(grace, meta.deletionGracePeriodSeconds);
  }
  if (grace === 0 && finalizers.length === 0) return undefined;
  if (meta.deletionTimestamp && grace === (meta.deletionGracePeriodSeconds ?? 0) && finalizers.length === (meta.finalizers ?? []).length) {
    return obj; // already being deleted this way
  }
  return {
    ...obj,
    metadata: {
      ...meta,
      deletionTimestamp: meta.deletionTimestamp && grace === 0 ? meta.deletionTimestamp : formatTime(new Date(now.getTime() + grace * 1000)),
      deletionGracePeriodSeconds: grace,
      finalizers: finalizers.length ? finalizers : undefined,
    },
  };
}
