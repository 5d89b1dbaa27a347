/**
 * Routes to the other nodes' pods: host-gw, a route to each node's podCIDR
 * through its address; vxlan, through its VTEP (whose MAC the node
 * publishes in its annotations). Nodes post their status every few
 * seconds, so the Node informer's handlers only enqueue the node's name;
 * one worker of its own compares what the node asks for with what it
 * programmed last and runs `ip` (asynchronously) only for a change: a new
 * or changed podCIDR, address or VTEP MAC, or a node gone.
 */
import type { Logger } from 'pino';
import type { Node } from 'kubernetes-types/core/v1.js';
import { WorkQueue, type Handlers } from '@kemu/client';
import { removeRouteToNode, routeToNode } from './sandbox.js';
import { peerMac, removeVxlanRoute, routeViaVxlan } from './vxlan.js';

export type NetworkBackend = 'host-gw' | 'vxlan';

/** The route to one node's pods. */
export interface NodeRoute {
  podCIDR: string;
  nodeIP: string;
  /** vxlan: the node's VTEP MAC. */
  mac?: string;
}

/** What changes the node's routing table (the I/O edge, injected so tests see the calls). */
export interface RouteProgrammer {
  add(route: NodeRoute): Promise<void>;
  remove(route: NodeRoute): Promise<void>;
}

/** The route `node` needs on node `self`; undefined for itself or while it lacks a podCIDR, address or VTEP. Pure. */
export function desiredRoute(node: Node | undefined, self: string, backend: NetworkBackend): NodeRoute | undefined {
  if (!node || node.metadata?.name === self) return undefined;
  const podCIDR = node.spec?.podCIDR;
  const nodeIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!podCIDR || !nodeIP) return undefined;
  if (backend === 'host-gw') return { podCIDR, nodeIP };
  const mac = peerMac(node.metadata?.annotations);
  return mac ? { podCIDR, nodeIP, mac } : undefined; // until it publishes its VTEP (an update follows)
}

const same = (a: NodeRoute | undefined, b: NodeRoute | undefined) => a?.podCIDR === b?.podCIDR && a?.nodeIP === b?.nodeIP && a?.mac === b?.mac;

/** The `ip` commands of a backend, in the node's network namespace. */
export function routeProgrammer(netns: string, backend: NetworkBackend): RouteProgrammer {
  return backend === 'vxlan'
    ? { add: (r) => routeViaVxlan(netns, r.podCIDR, r.nodeIP, r.mac!), remove: (r) => removeVxlanRoute(netns, r.podCIDR, r.nodeIP, r.mac!) }
    : { add: (r) => routeToNode(netns, r.podCIDR, r.nodeIP), remove: (r) => removeRouteToNode(netns, r.podCIDR, r.nodeIP) };
}

export interface NodeRoutesOptions {
  /** This node's name (it needs no route to itself). */
  self: string;
  backend: NetworkBackend;
  /** The Node from the informer's cache, undefined once deleted. */
  node(name: string): Node | undefined;
  programmer: RouteProgrammer;
  /** This node's own Node, from the worker (vxlan: a Node registered again has lost its VTEP annotations). */
  ownNode?(node: Node | undefined): Promise<void>;
  log: Logger;
  queue?: WorkQueue;
}

export class NodeRoutes {
  private queue: WorkQueue;
  /** What this kubelet programmed for each node, to program only changes and to remove a gone node's route. */
  private programmed = new Map<string, NodeRoute>();

  constructor(private o: NodeRoutesOptions) {
    this.queue = o.queue ?? new WorkQueue();
  }

  /** The Node informer's handlers: enqueue the name, nothing else. */
  readonly handlers: Handlers = {
    add: (n) => this.queue.add(n.metadata.name!),
    update: (_old, n) => this.queue.add(n.metadata.name!),
    delete: (n) => this.queue.add(n.metadata.name!),
  };

  async sync(name: string): Promise<void> {
    const node = this.o.node(name);
    if (name === this.o.self) return this.o.ownNode?.(node);
    const want = desiredRoute(node, this.o.self, this.o.backend);
    const have = this.programmed.get(name);
    if (same(want, have)) return;
    // A new podCIDR or VTEP leaves the old entries behind unless removed (a new address is a plain replace).
    if (have && (have.podCIDR !== want?.podCIDR || have.mac !== want?.mac)) {
      // Another node may hold that podCIDR by now (reallocated): its route stays.
      const reused = [...this.programmed].some(([n, r]) => n !== name && r.podCIDR === have.podCIDR);
      if (!reused) await this.o.programmer.remove(have);
      this.programmed.delete(name);
    }
    if (want) {
      await this.o.programmer.add(want); // a replace: a changed address or MAC overwrites the old route
      this.programmed.set(name, want);
      this.o.log.info({ node: name, podCIDR: want.podCIDR, via: want.nodeIP }, 'route to node programmed');
    }
  }

  /** One worker: routes change rarely, and one at a time keeps them in event order. */
  run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    return this.queue.run(
      1,
      (name) => this.sync(name),
      (node, err) => this.o.log.warn({ node, err }, 'route to node failed'),
      'node-routes',
    );
  }
}
