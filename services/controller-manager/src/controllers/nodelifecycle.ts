/**
 * Node lifecycle: a node whose kubelet stopped renewing its Lease for the
 * grace period (--node-monitor-grace-period, 40 s in Kubernetes) has its conditions set to Unknown ("Kubelet stopped
 * posting node status.") and gets the unreachable taints, so the scheduler
 * stops placing pods there; the taints go when the kubelet is back. Nodes
 * without a Lease (registered through the API, not by a kubelet) are left
 * as they are. The pods of a node that is not Ready are marked not ready
 * (so Services stop sending them traffic); the taint eviction controller
 * evicts them later.
 */
import { isNotFound } from '@kemu/api';
import { WorkQueue } from '@kemu/client';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, NodeCondition, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, ts, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type TypedInformer } from '../typed.js';
import { isReady, podsOnNode } from './pod-util.js';

const UNREACHABLE = 'node.kubernetes.io/unreachable';
const NOT_READY = 'node.kubernetes.io/not-ready';

/**
 * When the controller last saw a node's kubelet alive: the moment (on its own clock) it first saw the Lease's
 * renewTime or the Ready condition's lastHeartbeatTime change, as Kubernetes' nodeHealthMap keeps probeTimestamp.
 * A node seen for the first time counts as seen now: a controller that just started (or whose watch caught up
 * late) gives every node a whole grace period rather than judging it on timestamps it has not watched move. Pure.
 */
export interface NodeProbe {
  renew: string;
  heartbeat: string;
  at: number;
}

export function probe(prev: NodeProbe | undefined, node: Node, lease: Lease | undefined, now: number): NodeProbe {
  const renew = lease?.spec?.renewTime ?? '';
  const heartbeat = (node.status?.conditions ?? []).find((c) => c.type === 'Ready')?.lastHeartbeatTime ?? '';
  if (prev && prev.renew === renew && prev.heartbeat === heartbeat) return prev;
  return { renew, heartbeat, at: now };
}

/** What the node's conditions and taints should be now, its kubelet last seen alive at `seenAt`. Pure. */
export function nodeHealth(node: Node, seenAt: number, now: number, graceMs = 40_000): { conditions?: NodeCondition[]; taints: Taint[] } {
  const conds = node.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  const stale = now - seenAt > graceMs;
  const stamp = ts(new Date(now));
  let conditions: NodeCondition[] | undefined;
  if (stale && ready?.status !== 'Unknown') {
    conditions = conds.map((c) => ({
      ...c,
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastTransitionTime: stamp,
    }));
  }
  const status = conditions ? 'Unknown' : ready?.status;
  const others = (node.spec?.taints ?? []).filter((t) => t.key !== UNREACHABLE && t.key !== NOT_READY);
  const keep = (key: string) => (node.spec?.taints ?? []).filter((t) => t.key === key);
  const mark = (key: string): Taint[] => {
    const existing = keep(key);
    return existing.length === 2
      ? existing
      : [
          { key, effect: 'NoSchedule' },
          { key, effect: 'NoExecute', timeAdded: stamp },
        ];
  };
  const taints = status === 'Unknown' ? [...others, ...mark(UNREACHABLE)] : status === 'False' ? [...others, ...mark(NOT_READY)] : others;
  return { conditions, taints };
}

export class NodeLifecycleController implements Controller {
  readonly name = 'nodelifecycle';
  private queue = new WorkQueue();
  private nodes: TypedInformer<Node>;
  private leases: TypedInformer<Lease>;
  private pods: TypedInformer<Pod>;
  private probes = new Map<string, NodeProbe>();

  constructor(private ctx: ControllerContext) {
    this.nodes = informerFor(ctx.informers, R.nodes);
    this.leases = informerFor(ctx.informers, { ...R.leases, namespace: 'kube-node-lease' });
    this.pods = informerFor(ctx.informers, R.pods);
    this.nodes.on({ add: (n) => this.queue.add(n.metadata.name!), update: (_a, b) => this.queue.add(b.metadata.name!) });
  }

  async run(workers: number, signal: AbortSignal): Promise<void> {
    // Kubernetes' node-monitor-period: look at every node that often (5 s unless the flag says otherwise).
    const tick = setInterval(() => this.nodes.lister.list().forEach((n) => this.queue.add(n.metadata.name!)), this.ctx.nodeMonitor?.periodMs ?? 5000);
    signal.addEventListener('abort', () => clearInterval(tick), { once: true });
    await runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(name: string): Promise<void> {
    const node = this.nodes.lister.get(name);
    const lease = this.leases.lister.getNamed('kube-node-lease', name);
    if (!node) this.probes.delete(name);
    if (!node || !lease) return;
    const now = this.ctx.now().getTime();
    const seen = probe(this.probes.get(name), node, lease, now);
    this.probes.set(name, seen);
    const { conditions, taints } = nodeHealth(node, seen.at, now, this.ctx.nodeMonitor?.gracePeriodMs);
    try {
      if (conditions) {
        await clientFor(this.ctx.client, R.nodes).update({ ...structuredClone(node), status: { ...node.status, conditions } }, 'status');
        void this.ctx.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      }
      if (JSON.stringify(taints) !== JSON.stringify(node.spec?.taints ?? [])) {
        await clientFor(this.ctx.client, R.nodes).patch(name, { spec: { taints: taints.length ? taints : null } }, 'application/merge-patch+json');
      }
      const ready = (conditions ?? node.status?.conditions ?? []).find((c) => c.type === 'Ready');
      if (ready && ready.status !== 'True') await this.markPodsNotReady(name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Kubernetes' MarkPodsNotReady: no kubelet will say so, and endpoints must stop pointing at these pods. */
  private async markPodsNotReady(nodeName: string): Promise<void> {
    const stamp = ts(this.ctx.now());
    for (const pod of podsOnNode(this.pods.lister.list(), nodeName)) {
      if (pod.metadata.deletionTimestamp || !isReady(pod)) continue;
      const conds = pod.status?.conditions ?? [];
      const status = { ...pod.status, conditions: conds.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: stamp } : c)) };
      await clientFor(this.ctx.client, R.pods, pod.metadata.namespace)
        .update({ ...structuredClone(pod), status }, 'status')
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      void this.ctx.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
    }
  }
}

export const nodeLifecycleController = (ctx: ControllerContext) => new NodeLifecycleController(ctx);
