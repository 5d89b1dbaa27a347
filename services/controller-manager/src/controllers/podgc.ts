/**
 * Pod garbage collection (Kubernetes' PodGC): pods no kubelet will ever finish
 * are force-deleted —
 *  - orphans: bound to a node that no longer exists (gcOrphaned);
 *  - terminating pods on a node an administrator declared out of service
 *    (gcTerminating): the node is not Ready and carries the
 *    `node.kubernetes.io/out-of-service` taint, so its kubelet will not come
 *    back to finish them, and their replacements (a StatefulSet's same-named
 *    pod) may go ahead. As in Kubernetes such a pod is marked Failed first,
 *    then deleted with no grace.
 * Kubernetes scans every pod on a period; here pods are queued when they or
 * their node change, and each is decided on its own.
 */
import { isNotFound } from '@kemu/api';
import { keyOf, splitKey, WorkQueue } from '@kemu/client';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type Obj, type TypedInformer } from '../typed.js';
import { podsOnNode } from './pod-util.js';

/** The taint an administrator puts on a node that is gone for good (a shut-down machine), as in Kubernetes. */
export const OUT_OF_SERVICE_TAINT = 'node.kubernetes.io/out-of-service';

/** Whether PodGC's gcTerminating force-deletes `pod`: terminating, on a node not Ready with the out-of-service taint. Pure. */
export function terminatingOnOutOfServiceNode(pod: Pod, node: Node | undefined): boolean {
  if (!pod.metadata?.deletionTimestamp || !node) return false;
  const ready = (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return !ready && (node.spec?.taints ?? []).some((t) => t.key === OUT_OF_SERVICE_TAINT);
}

export class PodGcController implements Controller {
  readonly name = 'podgc';
  private queue = new WorkQueue();
  private pods: TypedInformer<Pod>;
  private nodes: TypedInformer<Node>;

  constructor(private ctx: ControllerContext) {
    this.pods = informerFor(ctx.informers, R.pods);
    this.nodes = informerFor(ctx.informers, R.nodes);
    const check = (p: Obj<Pod>) => p.spec?.nodeName && this.queue.add(keyOf(p));
    const nodePods = (n: Obj<Node>) => podsOnNode(this.pods.lister.list(), n.metadata.name!).forEach((p) => this.queue.add(keyOf(p)));
    this.pods.on({ add: check, update: (_a, b) => check(b) });
    // A node gone (orphans), or one that lost Ready or gained the out-of-service taint (its terminating pods).
    this.nodes.on({ update: (_a, b) => nodePods(b), delete: nodePods });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(key: string): Promise<void> {
    const pod = this.pods.lister.get(key);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName) return;
    const node = this.nodes.lister.get(nodeName);
    if (node) {
      if (terminatingOnOutOfServiceNode(pod, node)) await this.markFailedAndDelete(pod);
      return;
    }
    // The cache may lag a node that was just added: ask the API before deleting.
    try {
      await clientFor(this.ctx.client, R.nodes).get(nodeName);
      return;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await this.forceDelete(pod);
  }

  /** As PodGC's markFailedAndDeletePod: Failed first (a Job counts it as failed, not lost), then deleted at once. */
  private async markFailedAndDelete(pod: Obj<Pod>): Promise<void> {
    const phase = pod.status?.phase;
    if (phase !== 'Succeeded' && phase !== 'Failed') {
      try {
        await clientFor(this.ctx.client, R.pods, pod.metadata.namespace).patch(
          pod.metadata.name!,
          { status: { phase: 'Failed' } },
          'application/merge-patch+json',
          'status',
        );
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
    }
    await this.forceDelete(pod);
  }

  private async forceDelete(pod: Obj<Pod>): Promise<void> {
    const { namespace, name } = splitKey(keyOf(pod));
    await clientFor(this.ctx.client, R.pods, namespace)
      .delete(name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } })
      .catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
  }
}

export const podGcController = (ctx: ControllerContext) => new PodGcController(ctx);
