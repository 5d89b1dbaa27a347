/**
 * Which endpoints a node uses for a Service port: pkg/proxy's CategorizeEndpoints
 * (without topology-aware hints, which kemu does not set).
 */
import { endpointString, usesClusterEndpoints, usesLocalEndpoints, type EndpointInfo, type ServicePortInfo } from './types.js';
import { cmp } from './from-k8s.js';

export interface CategorizedEndpoints {
  /** Endpoints for Cluster traffic policy: the ready ones, else the serving+terminating ones. */
  cluster: EndpointInfo[];
  /** This node's endpoints for Local traffic policy (same fallback, among local endpoints only). */
  local: EndpointInfo[];
  /** Union of the two: every endpoint this node may DNAT to (one KUBE-SEP chain each). */
  allReachable: EndpointInfo[];
  /** Whether the Service port has any usable endpoint anywhere in the cluster. */
  hasAnyEndpoints: boolean;
}

/**
 * "Usable" means ready; when no endpoint is ready, serving+terminating endpoints are
 * used instead, so that connections keep working while a rollout replaces the last
 * pods (KEP-1669). Local policy makes the same choice among this node's endpoints.
 */
export function categorizeEndpoints(svc: ServicePortInfo, endpoints: readonly EndpointInfo[], nodeName: string): CategorizedEndpoints {
  const isLocal = (ep: EndpointInfo): boolean => ep.nodeName !== undefined && ep.nodeName === nodeName;
  let cluster: EndpointInfo[] = [];
  let local: EndpointInfo[] = [];
  let hasAnyEndpoints = false;

  if (usesClusterEndpoints(svc)) {
    cluster = endpoints.filter((ep) => ep.ready);
    if (cluster.length === 0) cluster = endpoints.filter((ep) => ep.serving && ep.terminating);
    hasAnyEndpoints = cluster.length > 0;
  }
  if (!usesLocalEndpoints(svc)) return { cluster, local, allReachable: cluster, hasAnyEndpoints };

  let localReady = false;
  let localServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (isLocal(ep)) localReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (isLocal(ep)) localServingTerminating = true;
    }
  }
  if (localReady) local = endpoints.filter((ep) => isLocal(ep) && ep.ready);
  else if (localServingTerminating) local = endpoints.filter((ep) => isLocal(ep) && ep.serving && ep.terminating);

  if (!usesClusterEndpoints(svc)) return { cluster, local, allReachable: local, hasAnyEndpoints };

  const union = new Map<string, EndpointInfo>();
  for (const ep of [...cluster, ...local]) union.set(endpointString(ep), ep);
  const allReachable = [...union.values()].sort((a, b) => cmp(endpointString(a), endpointString(b)));
  return { cluster, local, allReachable, hasAnyEndpoints };
}
