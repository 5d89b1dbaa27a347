/**
 * Which LoadBalancer addresses this node must answer ARP for (MetalLB layer 2's
 * ShouldAnnounce, run by every node's speaker on its own copy of the cluster). Pure:
 * Services, EndpointSlices and Nodes in, one election per address out. The election
 * itself (candidates, hash order) is @kemu/api's lb-election module, so
 * the allocator and the speakers agree on what "ours" means.
 */
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { electSpeaker, ingressIP, speakerCandidates, wantsOurLB } from '@kemu/api';
import { SERVICE_NAME_LABEL, ipv4ToNumber } from '../model/from-k8s.js';

/** One LoadBalancer address and who answers for it. */
export interface AddressElection {
  ip: string;
  /** The node that announces it; undefined when none may (no serving endpoint, no Ready candidate). */
  node?: string;
  /** "namespace/name" of the Services showing this address, sorted. */
  services: string[];
}

const keyOf = (ns: string | undefined, name: string | undefined): string => `${ns ?? 'default'}/${name ?? ''}`;

/**
 * The election of every address our LoadBalancer Services show, sorted by address.
 * Services sharing an address elect over the union of their candidates, so one node,
 * never two, answers for it (MetalLB lets only compatible Services share: same
 * policy, and for Local the same pods, where the sets are equal anyway).
 */
export function electAddresses(services: readonly Service[], slices: readonly EndpointSlice[], nodes: readonly Node[]): AddressElection[] {
  const slicesOf = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const k = keyOf(s.metadata?.namespace, svc);
    slicesOf.set(k, [...(slicesOf.get(k) ?? []), s]);
  }
  const byIP = new Map<string, { services: string[]; candidates: Set<string> }>();
  for (const svc of services) {
    const ip = wantsOurLB(svc) ? ingressIP(svc) : undefined;
    if (!ip) continue;
    const k = keyOf(svc.metadata?.namespace, svc.metadata?.name);
    const e = byIP.get(ip) ?? { services: [], candidates: new Set<string>() };
    e.services.push(k);
    for (const n of speakerCandidates(nodes, slicesOf.get(k) ?? [], svc.spec?.externalTrafficPolicy)) e.candidates.add(n);
    byIP.set(ip, e);
  }
  return [...byIP]
    .map(([ip, e]): AddressElection => {
      const node = electSpeaker(ip, [...e.candidates]);
      return { ip, ...(node ? { node } : {}), services: e.services.sort() };
    })
    .sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip));
}

/** The addresses `node` announces. */
export function announcedBy(node: string, elections: readonly AddressElection[]): AddressElection[] {
  return elections.filter((e) => e.node === node);
}
