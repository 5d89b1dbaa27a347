/**
 * Pod garbage collection (Kubernetes' PodGC, its orphan part): a pod bound to
 * a node that no longer exists is force-deleted, since no kubelet will ever
 * finish it.
 */
import { isNotFound } from '@kemu/api';
import { keyOf, splitKey, WorkQueue } from '@kemu/client';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type Obj, type TypedInformer } from '../typed.js';
import { podsOnNode } from './pod-util.js';

export class PodGcController implements Controller {
  readonly name = 'podgc';
  private queue = new WorkQueue();
  private pods: TypedInformer<Pod>;
  private nodes: TypedInformer<Node>;

  constructor(private ctx: ControllerContext) {
    this.pods = informerFor(ctx.informers, R.pods);
    this.nodes = informerFor(ctx.informers, R.nodes);
    const check = (p: Obj<Pod>) => p.spec?.nodeName && this.queue.add(keyOf(p));
    this.pods.on({ add: check, update: (_a, b) => check(b) });
    this.nodes.on({ delete: (n) => podsOnNode(this.pods.lister.list(), n.metadata.name!).forEach((p) => this.queue.add(keyOf(p))) });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(key: string): Promise<void> {
    const pod = this.pods.lister.get(key);
    const node = pod?.spec?.nodeName;
    if (!pod || !node || this.nodes.lister.get(node)) return;
    // The cache may lag a node that was just added: ask the API before deleting.
    try {
      await clientFor(this.ctx.client, R.nodes).get(node);
      return;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const { namespace, name } = splitKey(key);
    await clientFor(this.ctx.client, R.pods, namespace)
      .delete(name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } })
      .catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
  }
}

export const podGcController = (ctx: ControllerContext) => new PodGcController(ctx);
