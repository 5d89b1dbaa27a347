/**
 * Pod garbage collection (Kubernetes' PodGC, its orphan part): a pod bound to
 * a node that no longer exists is force-deleted, since no kubelet will ever
 * finish it.
 */
import { isNotFound, type KubeObject } from '@kemu/api';
import { keyOf, splitKey, WorkQueue, type Informer } from '@kemu/client';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { podsOnNode } from './pod-util.js';

export class PodGcController implements Controller {
  readonly name = 'podgc';
  private queue = new WorkQueue();
  private pods: Informer;
  private nodes: Informer;

  constructor(private ctx: ControllerContext) {
    this.pods = ctx.informers.for(R.pods);
    this.nodes = ctx.informers.for(R.nodes);
    const check = (p: KubeObject) => p.spec?.nodeName && this.queue.add(keyOf(p));
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
      await this.ctx.client.get(R.nodes, node);
      return;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const { namespace, name } = splitKey(key);
    await this.ctx.client.delete({ ...R.pods, namespace }, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } }).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }
}

export const podGcController = (ctx: ControllerContext) => new PodGcController(ctx);
