/**
 * The per-Service-port decisions shared by the iptables and nftables generators:
 * which endpoints each kind of traffic uses and what happens when there are none.
 * (In kube-proxy both proxiers compute these the same way in syncProxyRules.)
 */
import { categorizeEndpoints, type CategorizedEndpoints } from './categorize.js';
import { externallyAccessible, servicePortNameString, usesClusterEndpoints, usesLocalEndpoints, type ServiceEntry, type ServicePortInfo } from './types.js';

/** What a node does with packets for a Service IP that has no usable endpoint. */
export type NoEndpointVerdict = 'reject' | 'drop';

export interface ServicePlan {
  svc: ServicePortInfo;
  /** ServicePortName string, "ns/name:port". */
  spn: string;
  /** "tcp", "udp" or "sctp". */
  proto: string;
  endpoints: CategorizedEndpoints;
  hasEndpoints: boolean;
  /** The Cluster-policy chain (KUBE-SVC / service-) exists: some traffic uses cluster-wide endpoints. */
  usesClusterPolicyChain: boolean;
  /** The Local-policy chain (KUBE-SVL / local-) exists: some traffic uses only this node's endpoints. */
  usesLocalPolicyChain: boolean;
  /** ClusterIP traffic goes to the Local-policy chain (internalTrafficPolicy Local). */
  internalPolicyLocal: boolean;
  hasInternalEndpoints: boolean;
  /** NodePort/external/LB traffic ends in the Local-policy chain (externalTrafficPolicy Local). */
  externalPolicyLocal: boolean;
  hasExternalEndpoints: boolean;
  /** The external chain (KUBE-EXT / external-) exists. */
  usesExternalTrafficChain: boolean;
  /** Set when ClusterIP traffic cannot be served here: reject (no endpoints at all) or drop (none local). */
  internalNoEndpoints?: NoEndpointVerdict;
  /** Likewise for external traffic. */
  externalNoEndpoints?: NoEndpointVerdict;
}

export function planService(entry: ServiceEntry, nodeName: string): ServicePlan {
  const svc = entry.service;
  const endpoints = categorizeEndpoints(svc, entry.endpoints, nodeName);
  const hasEndpoints = endpoints.hasAnyEndpoints;
  const internalPolicyLocal = svc.internalTrafficPolicy === 'Local';
  const externalPolicyLocal = svc.externalPolicyLocal;
  const hasInternalEndpoints = hasEndpoints && (!internalPolicyLocal || endpoints.local.length > 0);
  const hasExternalEndpoints = hasEndpoints && (!externalPolicyLocal || endpoints.local.length > 0);
  const plan: ServicePlan = {
    svc,
    spn: servicePortNameString(svc),
    proto: svc.protocol.toLowerCase(),
    endpoints,
    hasEndpoints,
    usesClusterPolicyChain: endpoints.cluster.length > 0 && usesClusterEndpoints(svc),
    usesLocalPolicyChain: endpoints.local.length > 0 && usesLocalEndpoints(svc),
    internalPolicyLocal,
    hasInternalEndpoints,
    externalPolicyLocal,
    hasExternalEndpoints,
    // Based on hasEndpoints, not hasExternalEndpoints: the short-circuit rules for
    // pod and host traffic are needed even when no endpoint is local.
    usesExternalTrafficChain: hasEndpoints && externallyAccessible(svc),
  };
  if (!hasEndpoints) {
    plan.internalNoEndpoints = 'reject';
    plan.externalNoEndpoints = 'reject';
  } else {
    if (!hasInternalEndpoints) plan.internalNoEndpoints = 'drop';
    if (!hasExternalEndpoints) plan.externalNoEndpoints = 'drop';
  }
  return plan;
}
