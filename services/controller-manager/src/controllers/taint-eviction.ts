/**
 * Taint eviction (Kubernetes' taint-eviction-controller): a pod on a node
 * with a NoExecute taint it does not tolerate is deleted at once; one that
 * tolerates it for tolerationSeconds is deleted when that time has run out
 * (every pod tolerates not-ready and unreachable for 300 s, added at
 * admission; DaemonSet pods for ever). This is how workloads leave a node
 * that went unreachable: the pods are deleted, their controllers make new
 * ones elsewhere, and the old ones stay Terminating until a kubelet or PodGC
 * finishes them.
 */
import { evictionTime, isNotFound, type KubeObject } from '@kemu/api';
import { keyOf, splitKey, WorkQueue, type Informer } from '@kemu/client';
import { R, runWorkers, ts, type Controller, type ControllerContext } from '../context.js';
import { podsOnNode } from './pod-util.js';

const noExecute = (n: KubeObject | undefined): string =>
  JSON.stringify(((n?.spec?.taints ?? []) as { effect?: string }[]).filter((t) => t.effect === 'NoExecute'));

export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction-controller';
  private queue = new WorkQueue();
  private pods: Informer;
  private nodes: Informer;

  constructor(private ctx: ControllerContext) {
    this.pods = ctx.informers.for(R.pods);
    this.nodes = ctx.informers.for(R.nodes);
    const check = (p: KubeObject) => p.spec?.nodeName && !p.metadata.deletionTimestamp && this.queue.add(keyOf(p));
    this.pods.on({ add: check, update: (_a, b) => check(b) });
    // Only a change of a node's NoExecute taints concerns its pods.
    const nodeChanged = (n: KubeObject) => podsOnNode(this.pods.lister.list(), n.metadata.name!).forEach(check);
    this.nodes.on({ add: (n) => noExecute(n) !== '[]' && nodeChanged(n), update: (a, b) => noExecute(a) !== noExecute(b) && nodeChanged(b) });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(key: string): Promise<void> {
    const pod = this.pods.lister.get(key);
    if (!pod?.spec?.nodeName || pod.metadata.deletionTimestamp) return;
    const node = this.nodes.lister.get(pod.spec.nodeName);
    const now = this.ctx.now().getTime();
    const when = evictionTime(pod.spec.tolerations ?? [], node?.spec?.taints ?? [], now);
    if (when === 'never') return;
    if (when !== 'now') return this.queue.addAfter(key, when - now);
    const { namespace, name } = splitKey(key);
    const ref = { ...R.pods, namespace };
    void this.ctx.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    try {
      const conditions = ((pod.status?.conditions ?? []) as { type: string }[]).filter((c) => c.type !== 'DisruptionTarget');
      conditions.push({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: ts(new Date(now)) } as { type: string });
      await this.ctx.client.patch(ref, name, { status: { conditions } }, 'application/merge-patch+json', 'status');
      await this.ctx.client.delete(ref, name, { preconditions: { uid: pod.metadata.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

export const taintEvictionController = (ctx: ControllerContext) => new TaintEvictionController(ctx);
