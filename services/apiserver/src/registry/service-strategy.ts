/**
 * What creating, updating and deleting a Service does to the ClusterIP and
 * NodePort pools (node ports and the health check node port). Each step
 * returns how to undo it, so a write that fails afterwards leaves nothing
 * allocated.
 */
import type { ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { ServiceAllocator } from './allocator.js';

/** The part of a Service the pools depend on (a stored object with a Service spec). */
export interface ServiceView {
  metadata: unknown;
  spec?: ServiceSpec;
}

export interface Allocation {
  /** Undo what was taken (the write failed). */
  rollback(): void;
  /** Release what the old object held and the new one no longer does (the write succeeded). */
  commit(): void;
}

const needsIP = (spec: ServiceSpec) => spec.type !== 'ExternalName' && spec.clusterIP !== 'None';
const needsNodePorts = (spec: ServiceSpec) => spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
/** Kube-proxy answers health checks for a LoadBalancer that keeps traffic on the node (service.NeedsHealthCheck). */
const needsHealthCheck = (spec: ServiceSpec) => spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';

function nodePorts(spec: ServiceSpec | undefined): number[] {
  return (spec?.ports ?? []).map((p) => p.nodePort).filter((n): n is number => typeof n === 'number' && n > 0);
}

/** The health check node port `spec` holds, if it needs one. */
function healthCheckPort(spec: ServiceSpec | undefined): number | undefined {
  const n = spec && needsHealthCheck(spec) ? spec.healthCheckNodePort : undefined;
  return n && n > 0 ? n : undefined;
}

/** Every node port `spec` holds in the pool. */
function heldPorts(spec: ServiceSpec): number[] {
  const hc = healthCheckPort(spec);
  return hc ? [...nodePorts(spec), hc] : nodePorts(spec);
}

/**
 * Take what `next` needs that `old` (if any) does not already hold. Mutates
 * `next` (a fresh object being written) to record what it got.
 */
export function allocate(alloc: ServiceAllocator, next: ServiceView, old?: ServiceView): Allocation {
  const spec: ServiceSpec = (next.spec ??= {});
  const oldSpec = old?.spec;
  const taken: (() => void)[] = [];
  const rollback = () => taken.reverse().forEach((undo) => undo());
  const takePort = (n: number, field: string) => {
    alloc.takePort(n, field);
    taken.push(() => alloc.releasePort(n));
  };
  const newPort = (field: string) => {
    const n = alloc.allocatePort(field);
    taken.push(() => alloc.releasePort(n));
    return n;
  };
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
      (spec.ports ?? []).forEach((p, i) => {
        const field = `spec.ports[${i}].nodePort`;
        if (p.nodePort && held.has(p.nodePort)) return;
        if (p.nodePort) takePort(p.nodePort, field);
        else {
          // Keep the port an earlier version of this port had.
          const prev = (oldSpec?.ports ?? []).find((o) => o.port === p.port && o.protocol === p.protocol)?.nodePort;
          p.nodePort = prev && held.has(prev) ? prev : newPort(field);
        }
      });
    } else {
      for (const p of spec.ports ?? []) delete p.nodePort;
    }
    if (needsHealthCheck(spec)) {
      const had = healthCheckPort(oldSpec);
      const asked = spec.healthCheckNodePort;
      if (had && (!asked || asked === had)) spec.healthCheckNodePort = had;
      else if (asked) takePort(asked, 'spec.healthCheckNodePort');
      else spec.healthCheckNodePort = newPort('spec.healthCheckNodePort');
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
      const now = new Set(heldPorts(spec));
      for (const n of heldPorts(oldSpec)) if (!now.has(n)) alloc.releasePort(n);
    },
  };
}

/** Give back what a deleted Service held. */
export function release(alloc: ServiceAllocator, svc: ServiceView): void {
  const spec = svc.spec ?? {};
  if (needsIP(spec)) alloc.releaseIP(spec.clusterIP);
  for (const n of heldPorts(spec)) alloc.releasePort(n);
}

/** Rebuild the pools from the stored Services (at start). */
export function restore(alloc: ServiceAllocator, services: ServiceView[]): void {
  for (const svc of services) {
    const spec = svc.spec ?? {};
    try {
      if (needsIP(spec) && spec.clusterIP) alloc.takeIP(spec.clusterIP);
    } catch {
      /* already held or out of range after a CIDR change: keep the Service as it is */
    }
    for (const n of heldPorts(spec)) {
      try {
        alloc.takePort(n, 'spec.ports');
      } catch {
        /* as above */
      }
    }
  }
}
