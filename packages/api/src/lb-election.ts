/**
 * Which node answers ARP for a LoadBalancer address: MetalLB layer 2's
 * election (speaker/layer2_controller.go ShouldAnnounce). It is stateless —
 * no lease, no lock: every speaker runs it on its own copy of the cluster and
 * reaches the same answer, and when the elected node drops out of the
 * candidates (NotReady, or its last local endpoint gone) the next one in the
 * order takes over.
 *
 * A library of its own here because two processes decide with it: the
 * controller-manager's service-lb controller (which Services are ours) and the
 * kube-proxy's speaker (which node announces).
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

/** Our spec.loadBalancerClass. A Service naming another class belongs to another implementation and is left alone. */
export const LB_CLASS = 'kemu.io/l2';

/** A LoadBalancer Service whose address is ours to allocate and announce. */
export const wantsOurLB = (svc: Service): boolean =>
  svc.spec?.type === 'LoadBalancer' && (!svc.spec.loadBalancerClass || svc.spec.loadBalancerClass === LB_CLASS);

/** The first IPv4 address of status.loadBalancer.ingress (the one the speaker announces). */
export const ingressIP = (svc: Service): string | undefined => (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).find((ip) => !!ip && isIPv4(ip));

/** Nodes with this label never announce (MetalLB and the cloud service controller honour it). */
export const EXCLUDE_FROM_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

const hash = (node: string, ip: string): Buffer => createHash('sha256').update(`${node}#${ip}`).digest();

/**
 * The candidates in election order for `ip` (the Service's first ingress address): sorted
 * by sha256(node + "#" + ip), bytewise. The order differs per address, so Services spread
 * over the nodes; Services sharing an address get the same node.
 */
export function speakerOrder(ip: string, candidates: readonly string[]): string[] {
  const keyed = [...new Set(candidates)].map((n) => ({ n, h: hash(n, ip) }));
  return keyed.sort((a, b) => Buffer.compare(a.h, b.h)).map((x) => x.n);
}

/** The node that announces `ip`, or undefined when no node may. */
export function electSpeaker(ip: string, candidates: readonly string[]): string | undefined {
  return speakerOrder(ip, candidates)[0];
}

const isReady = (n: Node): boolean => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
/** EndpointSlice "serving" (ready when serving is not reported), as MetalLB's IsConditionServing. */
const isServing = (c: { ready?: boolean; serving?: boolean } | undefined): boolean => c?.serving ?? c?.ready ?? true;

/**
 * The nodes that may announce a Service: Ready and not excluded; with externalTrafficPolicy
 * Local only those with a serving endpoint of the Service (the address must land where a pod
 * answers, or the traffic is dropped). A Service with no serving endpoint at all is announced
 * by nobody, as in MetalLB. `slices` are the Service's EndpointSlices.
 */
export function speakerCandidates(nodes: readonly Node[], slices: readonly EndpointSlice[], externalTrafficPolicy?: string): string[] {
  const serving = slices.flatMap((s) => s.endpoints ?? []).filter((e) => isServing(e.conditions));
  if (!serving.length) return [];
  const eligible = nodes.filter((n) => isReady(n) && !(EXCLUDE_FROM_LB_LABEL in (n.metadata?.labels ?? {}))).map((n) => n.metadata?.name ?? '');
  if (externalTrafficPolicy !== 'Local') return eligible.filter(Boolean);
  const withEndpoint = new Set(serving.map((e) => e.nodeName));
  return eligible.filter((n) => n && withEndpoint.has(n));
}
