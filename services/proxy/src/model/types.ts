/**
 * The model kube-proxy programs a node from: one entry per Service port (what
 * pkg/proxy calls a ServicePort) and the endpoints of each. Built from Service
 * and EndpointSlice objects by the pure functions in from-k8s.ts; every rule
 * generator (iptables, nftables, userspace) reads only this model.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type TrafficPolicy = 'Cluster' | 'Local';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

/** One port of one Service, as kube-proxy sees it (IPv4 only: kemu's cluster is single-stack). */
export interface ServicePortInfo {
  namespace: string;
  name: string;
  /** The port's name; '' for a Service's single unnamed port. */
  portName: string;
  protocol: Protocol;
  type: ServiceType;
  clusterIP: string;
  port: number;
  /** 0 when the port has no NodePort. */
  nodePort: number;
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip of ipMode VIP (Proxy-mode ingress is the load balancer's job). */
  loadBalancerIPs: string[];
  /** spec.loadBalancerSourceRanges, trimmed, as CIDRs ("1.2.3.4" becomes "1.2.3.4/32"). */
  loadBalancerSourceRanges: string[];
  /** ClientIP affinity timeout in seconds; undefined when sessionAffinity is None. */
  affinityTimeoutSeconds?: number;
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  /** 0 unless type LoadBalancer with externalTrafficPolicy Local. */
  healthCheckNodePort: number;
  /**
   * Whether the Service type admits external traffic at all (NodePort, LoadBalancer,
   * or ClusterIP with externalIPs) and its externalTrafficPolicy is Local: the
   * Service-level ExternalPolicyLocal of pkg/api/v1/service.
   */
  externalPolicyLocal: boolean;
}

/** One endpoint of one Service port. */
export interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
}

/** A Service port together with its endpoints (sorted by "ip:port" as kube-proxy sorts them). */
export interface ServiceEntry {
  service: ServicePortInfo;
  endpoints: EndpointInfo[];
}

/**
 * How kube-proxy tells pod traffic from other traffic (--detect-local-mode):
 * a CIDR (ClusterCIDR or NodeCIDR mode), the node bridge (BridgeInterface), or
 * nothing, in which case the masquerade and short-circuit rules that need it are left out.
 */
export type LocalDetector = { mode: 'ClusterCIDR' | 'NodeCIDR'; cidr: string } | { mode: 'BridgeInterface'; interface: string } | { mode: 'None' };

/** What the rule generators need to know about the node they program. */
export interface NodeFacts {
  nodeName: string;
  /** The node's primary IPv4 address (LoadBalancerSourceRanges and nftables NodePort addresses). */
  nodeIP: string;
  /** Further node addresses that accept NodePort traffic in nftables mode (defaults to nodeIP only). */
  nodePortIPs?: string[];
  localDetector: LocalDetector;
}

/** "namespace/name:portName", or "namespace/name" for an unnamed port: pkg/proxy's ServicePortName.String(). */
export function servicePortNameString(s: Pick<ServicePortInfo, 'namespace' | 'name' | 'portName'>): string {
  const nn = `${s.namespace}/${s.name}`;
  return s.portName === '' ? nn : `${nn}:${s.portName}`;
}

/** Map key that joins a Service port with its EndpointSlice ports: name and protocol must both match. */
export function servicePortKey(namespace: string, name: string, portName: string, protocol: Protocol): string {
  return `${namespace}/${name}:${portName}/${protocol}`;
}

/** "ip:port": how kube-proxy names an endpoint in comments, chain hashes and DNAT targets. */
export function endpointString(e: Pick<EndpointInfo, 'ip' | 'port'>): string {
  return `${e.ip}:${e.port}`;
}

/** NodePort, LoadBalancer IP or external IP present: the port-level ExternallyAccessible of pkg/proxy. */
export function externallyAccessible(s: ServicePortInfo): boolean {
  return s.nodePort !== 0 || s.loadBalancerIPs.length > 0 || s.externalIPs.length > 0;
}

/** Whether some traffic to this port uses cluster-wide endpoints. */
export function usesClusterEndpoints(s: ServicePortInfo): boolean {
  return s.internalTrafficPolicy !== 'Local' || (externallyAccessible(s) && !s.externalPolicyLocal);
}

/** Whether some traffic to this port uses only this node's endpoints. */
export function usesLocalEndpoints(s: ServicePortInfo): boolean {
  return s.internalTrafficPolicy === 'Local' || (externallyAccessible(s) && s.externalPolicyLocal);
}
