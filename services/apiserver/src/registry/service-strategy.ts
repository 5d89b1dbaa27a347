/**
 * What creating, updating and deleting a Service does to the ClusterIP and
 * NodePort pools. Each step returns how to undo it, so a write that fails
 * afterwards leaves nothing allocated.
 */
import type { KubeObject } from '@kemu/api';
import type { ServiceAllocator } from './allocator.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Allocation {
  /** Undo what was taken (the write failed). */
  rollback(): void;
  /** Release what the old object held and the new one no longer does (the write succeeded). */
  commit(): void;
}

const needsIP = (spec: Obj) => spec.type !== 'ExternalName' && spec.clusterIP !== 'None';
const needsNodePorts = (spec: Obj) => spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);

function nodePorts(spec: Obj | undefined): number[] {
  return ((spec?.ports ?? []) as Obj[]).map((p) => p.nodePort).filter((n): n is number => typeof n === 'number' && n > 0);
}

/**
 * Take what `next` needs that `old` (if any) does not already hold. Mutates
 * `next` (a fresh object being written) to record what it got.
 */
export function allocate(alloc: ServiceAllocator, next: KubeObject, old?: KubeObject): Allocation {
  const spec: Obj = next.spec;
  const oldSpec: Obj | undefined = old?.spec;
  const taken: (() => void)[] = [];
  const rollback = () => taken.reverse().forEach((undo) => undo());
  try {
    if (needsIP(spec)) {
      const oldIP = oldSpec && needsIP(oldSpec) ? oldSpec.clusterIP : undefined;
      const asked = spec.clusterIP || spec.clusterIPs?.[0];
      if (oldIP && (!asked || asked === oldIP)) {
        spec.clusterIP = oldIP;
      } else if (asked) {
        alloc.takeIP(asked);
        taken.push(() => alloc.releaseIP(asked));
        spec.clusterIP = asked;
      } else {
        const ip = alloc.allocateIP();
        taken.push(() => alloc.releaseIP(ip));
        spec.clusterIP = ip;
      }
      spec.clusterIPs = [spec.clusterIP];
    } else if (spec.clusterIP === 'None') {
      spec.clusterIPs = ['None'];
    } else {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    const held = new Set(oldSpec && needsNodePorts(oldSpec) ? nodePorts(oldSpec) : []);
    if (needsNodePorts(spec)) {
      (spec.ports as Obj[]).forEach((p, i) => {
        const field = `spec.ports[${i}].nodePort`;
        if (p.nodePort && held.has(p.nodePort)) return;
        if (p.nodePort) {
          alloc.takePort(p.nodePort, field);
          const n = p.nodePort;
          taken.push(() => alloc.releasePort(n));
        } else {
          // Keep the port an earlier version of this port had.
          const prev = ((oldSpec?.ports ?? []) as Obj[]).find((o) => o.port === p.port && o.protocol === p.protocol)?.nodePort;
          if (prev && held.has(prev)) p.nodePort = prev;
          else {
            const n = alloc.allocatePort(field);
            taken.push(() => alloc.releasePort(n));
            p.nodePort = n;
          }
        }
      });
    } else {
      for (const p of (spec.ports ?? []) as Obj[]) delete p.nodePort;
    }
  } catch (e) {
    rollback();
    throw e;
  }
  return {
    rollback,
    commit: () => {
      if (!oldSpec) return;
      if (needsIP(oldSpec) && oldSpec.clusterIP !== spec.clusterIP) alloc.releaseIP(oldSpec.clusterIP);
      const now = new Set(nodePorts(spec));
      for (const n of nodePorts(oldSpec)) if (!now.has(n)) alloc.releasePort(n);
    },
  };
}

/** Give back what a deleted Service held. */
export function release(alloc: ServiceAllocator, svc: KubeObject): void {
  const spec: Obj = svc.spec ?? {};
  if (needsIP(spec)) alloc.releaseIP(spec.clusterIP);
  for (const n of nodePorts(spec)) alloc.releasePort(n);
}

/** Rebuild the pools from the stored Services (at start). */
export function restore(alloc: ServiceAllocator, services: KubeObject[]): void {
  for (const svc of services) {
    const spec: Obj = svc.spec ?? {};
    try {
      if (needsIP(spec) && spec.clusterIP) alloc.takeIP(spec.clusterIP);
    } catch {
      /* already held or out of range after a CIDR change: keep the Service as it is */
    }
    for (const n of nodePorts(spec)) {
      try {
        alloc.takePort(n, 'spec.ports');
      } catch {
        /* as above */
      }
    }
  }
}
