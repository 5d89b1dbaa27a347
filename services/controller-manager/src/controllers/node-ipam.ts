/** Node IPAM: every Node gets a /24 spec.podCIDR from the cluster CIDR (--cluster-cidr, 10.244.0.0/16); a deleted node's goes back. */
import { formatCidr, isNotFound, subnet, subnetCount } from '@kemu/api';
import { WorkQueue } from '@kemu/client';
import type { Node } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type TypedInformer } from '../typed.js';

/** The first free /24 of the cluster CIDR (any prefix up to /24), or undefined when all are taken. Pure. */
export function nextPodCIDR(clusterCIDR: string, used: Set<string>): string | undefined {
  const n = subnetCount(clusterCIDR, 24);
  for (let i = 0; i < n; i++) {
    const cidr = formatCidr(subnet(clusterCIDR, 24, i));
    if (!used.has(cidr)) return cidr;
  }
  return undefined;
}

export class NodeIpamController implements Controller {
  readonly name = 'nodeipam';
  private queue = new WorkQueue();
  private nodes: TypedInformer<Node>;
  /** Ranges handed out that the cache does not show yet. */
  private reserved = new Map<string, string>();

  constructor(
    private ctx: ControllerContext,
    private clusterCIDR = '10.244.0.0/16',
  ) {
    this.nodes = informerFor(ctx.informers, R.nodes);
    this.nodes.on({
      add: (n) => this.queue.add(n.metadata.name!),
      update: (_a, b) => {
        // Once the cache shows the assignment, the reservation has done its job.
        if (b.spec?.podCIDR) this.reserved.delete(b.metadata.name!);
        this.queue.add(b.metadata.name!);
      },
      delete: (n) => this.reserved.delete(n.metadata.name!),
    });
  }

  run(_workers: number, signal: AbortSignal): Promise<void> {
    // One worker: allocation reads and writes the set of used ranges.
    return runWorkers(this.ctx, this.name, this.queue, 1, signal, (k) => this.sync(k));
  }

  async sync(name: string): Promise<void> {
    const node = this.nodes.lister.get(name);
    if (!node || node.spec?.podCIDR) return;
    const used = new Set(this.nodes.lister.list().flatMap((n) => (n.spec?.podCIDR ? [n.spec.podCIDR] : [])));
    for (const [n, cidr] of this.reserved) if (n !== name) used.add(cidr);
    const cidr = this.reserved.get(name) ?? nextPodCIDR(this.clusterCIDR, used);
    if (!cidr) {
      void this.ctx.recorder.event(node, 'Warning', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
      return;
    }
    this.reserved.set(name, cidr);
    try {
      await clientFor(this.ctx.client, R.nodes).patch(name, { spec: { podCIDR: cidr, podCIDRs: [cidr] } }, 'application/merge-patch+json');
      void this.ctx.recorder.event(node, 'Normal', 'CIDRAssignmentSucceeded', `Node ${name} got CIDR ${cidr}`);
    } catch (e) {
      this.reserved.delete(name);
      if (!isNotFound(e)) throw e;
    }
  }
}

export const nodeIpamController = (ctx: ControllerContext) => new NodeIpamController(ctx, ctx.clusterCIDR);
