/**
 * nftables mode, one Service port: what kube-proxy's syncProxyRules writes for it (pkg/proxy/nftables/proxier.go),
 * as an ordered list of operations — chains to (re)create, map and set elements, rules, affinity sets — that the
 * transaction builder turns into `nft` commands. A full sync writes them all; a partial sync writes the elements of
 * every Service (to compare them with what the kernel holds) and the rest only for the Services that changed.
 */
import { planService, type ServicePlan } from '../model/plan.js';
import { detectorImplemented, nftIfLocal, nftIfNotLocal } from '../model/local-detector.js';
import { cidrContains } from '../model/from-k8s.js';
import { endpointString, type EndpointInfo, type NodeFacts, type ServiceEntry } from '../model/types.js';
import { nftAffinitySet, nftEndpointChain, nftExternalChain, nftFirewallChain, nftLocalChain, nftServiceChain } from '../naming.js';

export interface NftablesOptions {
  /** Service ClusterIP ranges: traffic to an unallocated ClusterIP there is dropped. */
  serviceCIDRs?: string[];
  /** Masquerade all ClusterIP traffic (--masquerade-all). Default false. */
  masqueradeAll?: boolean;
  /** SNAT mark bit. Default 14 (0x4000). */
  masqueradeBit?: number;
}

/** One step of a Service port's output, in the order kube-proxy writes them. */
export type NftServiceOp =
  /** `add chain` + `flush chain`: the chain then holds exactly what this transaction writes. */
  | { kind: 'chain'; name: string }
  /** An element of a dispatch map or set; `value` is everything after the key (comment, ": verdict"). */
  | { kind: 'element'; container: string; key: string; value: string }
  /** A rule or an affinity set: the text after the verb and `ip kube-proxy`. */
  | { kind: 'rule' | 'set'; text: string };

export interface NftServiceOutput {
  /** "namespace/name", the unit of a partial sync. */
  service: string;
  ops: NftServiceOp[];
  /** The per-service chains this port uses (the next sync's existing ones). */
  chains: string[];
  affinitySets: string[];
}

/** Everything a Service port contributes to the table, from the model entry and the node. */
export function serviceOutput(entry: ServiceEntry, node: NodeFacts, opts: NftablesOptions): NftServiceOutput {
  const p = planService(entry, node.nodeName);
  const svc = p.svc;
  const ops: NftServiceOp[] = [];
  const chains: string[] = [];
  const affinitySets: string[] = [];
  const affinity = svc.affinityTimeoutSeconds !== undefined;
  const chain = (name: string): void => {
    chains.push(name);
    ops.push({ kind: 'chain', name });
  };
  const element = (container: string, key: string, verdict?: string, comment?: string): void => {
    ops.push({ kind: 'element', container, key, value: `${comment ? ` comment "${comment}"` : ''}${verdict ? ` : ${verdict}` : ''}` });
  };
  const rule = (c: string, text: string, comment?: string): void => {
    ops.push({ kind: 'rule', text: `${c} ${text}${comment ? ` comment "${comment}"` : ''}` });
  };

  for (const ep of p.endpoints.allReachable) {
    chain(nftEndpointChain(svc, ep));
    if (affinity) affinitySets.push(nftAffinitySet(svc, ep));
  }
  const clusterChain = nftServiceChain(svc);
  const localChain = nftLocalChain(svc);
  const externalChain = nftExternalChain(svc);
  const firewallChain = nftFirewallChain(svc);
  if (p.usesClusterPolicyChain) chain(clusterChain);
  if (p.usesLocalPolicyChain) chain(localChain);
  const internalChain = p.internalPolicyLocal ? localChain : clusterChain;
  const externalPolicyChain = p.externalPolicyLocal ? localChain : clusterChain;
  if (p.usesExternalTrafficChain) chain(externalChain);
  const verdict = (v: 'reject' | 'drop' | undefined): string => (v === 'reject' ? 'goto reject-chain' : 'drop');
  const key = (ip: string): string => `${ip} . ${p.proto} . ${svc.port}`;

  // Dispatch: the ClusterIP, external IPs, LB IPs and NodePort, each to its chain or,
  // without endpoints, to a reject/drop verdict checked in the filter chains.
  element('cluster-ips', svc.clusterIP);
  if (p.hasInternalEndpoints) element('service-ips', key(svc.clusterIP), `goto ${internalChain}`);
  else element('no-endpoint-services', key(svc.clusterIP), verdict(p.internalNoEndpoints), p.spn);
  for (const ip of svc.externalIPs) {
    if (p.hasEndpoints) element('service-ips', key(ip), `goto ${externalChain}`);
    if (!p.hasExternalEndpoints) element('no-endpoint-services', key(ip), verdict(p.externalNoEndpoints), p.spn);
  }
  const usesFW = svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  if (usesFW) chain(firewallChain);
  for (const ip of svc.loadBalancerIPs) {
    if (p.hasEndpoints) element('service-ips', key(ip), `goto ${externalChain}`);
    if (usesFW) element('firewall-ips', key(ip), `goto ${firewallChain}`);
  }
  if (!p.hasExternalEndpoints) {
    for (const ip of svc.loadBalancerIPs) element('no-endpoint-services', key(ip), verdict(p.externalNoEndpoints), p.spn);
  }
  if (svc.nodePort !== 0) {
    if (p.hasEndpoints) element('service-nodeports', `${p.proto} . ${svc.nodePort}`, `goto ${externalChain}`);
    if (!p.hasExternalEndpoints) element('no-endpoint-nodeports', `${p.proto} . ${svc.nodePort}`, verdict(p.externalNoEndpoints), p.spn);
  }

  const detect = node.localDetector;
  if (p.hasInternalEndpoints) {
    if (opts.masqueradeAll) rule(internalChain, `ip daddr ${svc.clusterIP} ${p.proto} dport ${svc.port} jump mark-for-masquerade`);
    else if (detectorImplemented(detect)) rule(internalChain, `ip daddr ${svc.clusterIP} ${nftIfNotLocal(detect)} jump mark-for-masquerade`);
  }
  if (p.usesExternalTrafficChain) {
    if (!p.externalPolicyLocal) {
      rule(externalChain, 'jump mark-for-masquerade');
    } else {
      if (detectorImplemented(detect)) rule(externalChain, `${nftIfLocal(detect)} goto ${clusterChain}`, 'short-circuit pod traffic');
      rule(externalChain, 'fib saddr type local jump mark-for-masquerade', 'masquerade local traffic');
      rule(externalChain, `fib saddr type local goto ${clusterChain}`, 'short-circuit local traffic');
    }
    if (p.hasExternalEndpoints) rule(externalChain, `goto ${externalPolicyChain}`);
  }
  if (usesFW) {
    const sources = [...svc.loadBalancerSourceRanges];
    // A node reaching a VIP it holds loops back with the VIP as source address.
    if (sources.some((c) => cidrContains(c, node.nodeIP))) sources.push(...svc.loadBalancerIPs);
    rule(firewallChain, `ip saddr != { ${sources.join(', ')} } drop`);
  }
  if (affinity) {
    for (const set of affinitySets) {
      ops.push({ kind: 'set', text: `${set} { type ipv4_addr ; flags dynamic,timeout ; timeout ${svc.affinityTimeoutSeconds}s ; }` });
    }
  }
  if (p.usesClusterPolicyChain) serviceToEndpointRules(rule, p, clusterChain, p.endpoints.cluster);
  if (p.usesLocalPolicyChain) serviceToEndpointRules(rule, p, localChain, p.endpoints.local);

  for (const ep of p.endpoints.allReachable) {
    const c = nftEndpointChain(svc, ep);
    // Hairpin: a pod reaching itself through the Service is SNATed.
    rule(c, `ip saddr ${ep.ip} jump mark-for-masquerade`);
    if (affinity) rule(c, `update @${nftAffinitySet(svc, ep)} { ip saddr }`);
    rule(c, `meta l4proto ${p.proto} dnat to ${endpointString(ep)}`);
  }
  return { service: `${svc.namespace}/${svc.name}`, ops, chains, affinitySets };
}

function serviceToEndpointRules(rule: (chain: string, text: string) => void, p: ServicePlan, chain: string, endpoints: readonly EndpointInfo[]): void {
  // A client in an endpoint's affinity set (refreshed on every new connection) goes back there.
  if (p.svc.affinityTimeoutSeconds !== undefined) {
    for (const ep of endpoints) rule(chain, `ip saddr @${nftAffinitySet(p.svc, ep)} goto ${nftEndpointChain(p.svc, ep)}`);
  }
  // kube-proxy's anonymous verdict map: the kernel names each new one by scanning the table's sets, which is what
  // makes a whole-table transaction of thousands of Services slow (see the README), and why syncs are partial.
  const vmap = endpoints.map((ep, i) => `${i} : goto ${nftEndpointChain(p.svc, ep)}`).join(' , ');
  rule(chain, `numgen random mod ${endpoints.length} vmap { ${vmap} }`);
}

/**
 * Each Service port's output by its model entry, for the entries that are the same objects as in an earlier build
 * (the model tracker keeps an unchanged Service's entries): at 5,000 Services, computing every port's output again on
 * each partial sync, only to keep its elements, would be most of the sync's JavaScript.
 */
export class NftServiceMemo {
  private key = '';
  private byEntry = new WeakMap<ServiceEntry, NftServiceOutput>();

  /** The output of each entry, computed once per entry object while the node facts and options stay the same. */
  outputs(entries: readonly ServiceEntry[], node: NodeFacts, opts: NftablesOptions): NftServiceOutput[] {
    const key = JSON.stringify([node, opts]);
    if (key !== this.key) {
      this.key = key;
      this.byEntry = new WeakMap();
    }
    return entries.map((entry) => {
      let out = this.byEntry.get(entry);
      if (out === undefined) {
        out = serviceOutput(entry, node, opts);
        this.byEntry.set(entry, out);
      }
      return out;
    });
  }
}
