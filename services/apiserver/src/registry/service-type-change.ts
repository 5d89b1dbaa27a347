/**
 * What a change of a Service's type drops (Kubernetes'
 * dropTypeDependentFields in pkg/registry/core/service/strategy.go, part of
 * the Service strategy's PrepareForUpdate, before validation). A field goes
 * when the new type does not use it AND the update left it as it was: the
 * user most likely did not set it (it was defaulted or allocated), so a
 * plain `{"spec":{"type":"ClusterIP"}}` works. A field the user changed too
 * stays, and validation says what is wrong with it. What was allocated for
 * the dropped fields is released by the allocation step (./service-strategy.ts)
 * once the write succeeds. Pure.
 */
import type { ServicePort, ServiceSpec, ServiceStatus } from 'kubernetes-types/core/v1.js';
import { jsonEqual } from '@kemu/api';

/** A stored object with a Service's spec and status. */
export interface ServiceObject {
  metadata: unknown;
  spec?: ServiceSpec;
  status?: ServiceStatus;
}

const needsClusterIP = (s: ServiceSpec) => s.type !== 'ExternalName';
const needsNodePort = (s: ServiceSpec) => s.type === 'NodePort' || s.type === 'LoadBalancer';
const needsHCNodePort = (s: ServiceSpec) => s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
const isLoadBalancer = (s: ServiceSpec) => s.type === 'LoadBalancer';

function nodePortSet(s: ServiceSpec): Set<number> {
  return new Set((s.ports ?? []).map((p) => p.nodePort ?? 0).filter((n) => n !== 0));
}

/** No net-new NodePort: ports may be added, removed or changed otherwise. */
function sameNodePorts(old: ServiceSpec, next: ServiceSpec): boolean {
  const held = nodePortSet(old);
  return [...nodePortSet(next)].every((n) => held.has(n));
}

/**
 * `next` (an update of `old`, defaults applied) without the fields only the
 * old type needed. Returns a new object; the inputs are not changed.
 */
export function dropTypeDependentFields<T extends ServiceObject>(next: T, old: ServiceObject): T {
  const o: ServiceSpec = old.spec ?? {};
  const spec: ServiceSpec = { ...(next.spec ?? {}) };
  if (needsClusterIP(o) && !needsClusterIP(spec)) {
    if (spec.clusterIP === o.clusterIP && jsonEqual(spec.clusterIPs ?? [], o.clusterIPs ?? [])) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (jsonEqual(spec.ipFamilies, o.ipFamilies)) delete spec.ipFamilies;
    if ((spec.ipFamilyPolicy ?? '') === (o.ipFamilyPolicy ?? '')) delete spec.ipFamilyPolicy;
  }
  if (needsNodePort(o) && !needsNodePort(spec) && sameNodePorts(o, spec)) {
    spec.ports = spec.ports?.map((p): ServicePort => {
      const q = { ...p };
      delete q.nodePort;
      return q;
    });
  }
  if (needsHCNodePort(o) && !needsHCNodePort(spec) && (spec.healthCheckNodePort ?? 0) === (o.healthCheckNodePort ?? 0)) {
    delete spec.healthCheckNodePort;
  }
  if (isLoadBalancer(o) && !isLoadBalancer(spec)) {
    // Only when both carry it and agree (an explicit change is the user's, for validation to judge).
    if (spec.allocateLoadBalancerNodePorts !== undefined && spec.allocateLoadBalancerNodePorts === o.allocateLoadBalancerNodePorts) {
      delete spec.allocateLoadBalancerNodePorts;
    }
    if ((spec.loadBalancerClass ?? null) === (o.loadBalancerClass ?? null)) delete spec.loadBalancerClass;
  }
  if (needsNodePort(o) && !needsNodePort(spec) && (spec.externalTrafficPolicy ?? '') === (o.externalTrafficPolicy ?? '')) {
    delete spec.externalTrafficPolicy;
  }
  // An ExternalName Service never shows internalTrafficPolicy: Kubernetes keeps the one defaulted for the old type in
  // storage but drops it on every read (defaultOnReadInternalTrafficPolicy); here it goes with the type.
  if (!needsClusterIP(spec)) delete spec.internalTrafficPolicy;
  // LB de-provisioning is asynchronous, but the user need not see that: the ingress points go at once.
  const status = !isLoadBalancer(spec) && next.status ? { ...next.status, loadBalancer: {} } : next.status;
  return { ...next, spec, status };
}
