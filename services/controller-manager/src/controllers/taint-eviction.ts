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
import { evictionTime, isNotFound } from '@kemu/api';
import { keyOf, splitKey, WorkQueue } from '@kemu/client';
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, ts, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type Obj, type TypedInformer } from '../typed.js';
import { podsOnNode } from './pod-util.js';

const noExecute = (n: Node | undefined): string => JSON.stringify((n?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute'));

export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction-controller';
  private queue = new WorkQueue();
  private pods: TypedInformer<Pod>;
  private nodes: TypedInformer<Node>;

  constructor(private ctx: ControllerContext) {
    this.pods = informerFor(ctx.informers, R.pods);
    this.nodes = informerFor(ctx.informers, R.nodes);
    const check = (p: Obj<Pod>) => p.spec?.nodeName && !p.metadata.deletionTimestamp && this.queue.add(keyOf(p));
    this.pods.on({ add: check, update: (_a, b) => check(b) });
    // Only a change of a node's NoExecute taints concerns its pods.
    const nodeChanged = (n: Obj<Node>) => podsOnNode(this.pods.lister.list(), n.metadata.name!).forEach(check);
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
    const pods = clientFor(this.ctx.client, R.pods, namespace);
    void this.ctx.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    try {
      const conditions: PodCondition[] = (pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
      conditions.push({
        type: 'DisruptionTarget',
        status: 'True',
        reason: 'DeletionByTaintManager',
        message: 'Taint manager: deleting due to NoExecute taint',
        lastTransitionTime: ts(new Date(now)),
      });
      await pods.patch(name, { status: { conditions } }, 'application/merge-patch+json', 'status');
      await pods.delete(name, { preconditions: { uid: pod.metadata.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

export const taintEvictionController = (ctx: ControllerContext) => new TaintEvictionController(ctx);
