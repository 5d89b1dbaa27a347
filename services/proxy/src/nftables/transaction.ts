/**
 * nftables mode: the model → one `nft -f` transaction that (re)builds the
 * `ip kube-proxy` table, in the layout of kube-proxy's nftables proxier
 * (pkg/proxy/nftables/proxier.go, v1.31): verdict maps keyed by
 * address . protocol . port send packets to per-service chains, which pick an
 * endpoint with `numgen random mod N`.
 */
import { planService, type ServicePlan } from '../model/plan.js';
import { detectorImplemented, nftIfLocal, nftIfNotLocal } from '../model/local-detector.js';
import { cidrContains } from '../model/from-k8s.js';
import { endpointString, type EndpointInfo, type NodeFacts, type ServiceEntry } from '../model/types.js';
import { isNftServiceChainName, nftAffinitySet, nftEndpointChain, nftExternalChain, nftFirewallChain, nftLocalChain, nftServiceChain } from '../naming.js';

export const NFT_TABLE = 'kube-proxy';

export interface NftablesOptions {
  /** Service ClusterIP ranges: traffic to an unallocated ClusterIP there is dropped. */
  serviceCIDRs?: string[];
  /** Masquerade all ClusterIP traffic (--masquerade-all). Default false. */
  masqueradeAll?: boolean;
  /** SNAT mark bit. Default 14 (0x4000). */
  masqueradeBit?: number;
}

export interface NftablesSyncInput {
  entries: readonly ServiceEntry[];
  node: NodeFacts;
  options?: NftablesOptions;
  /** Chains in the table now (`nft list chains ip kube-proxy`): stale service chains are flushed. */
  existingChains?: readonly string[];
  /** Sets in the table now: stale affinity sets are deleted. */
  existingSets?: readonly string[];
}

export interface NftablesTransaction {
  /** The `nft -f` input. */
  text: string;
  /**
   * Service chains this transaction flushed because nothing uses them any more. They
   * must be deleted in a later transaction: kernels before 6.2 still count a map
   * element's reference to a chain for a moment after the element is removed.
   */
  staleChains: string[];
}

interface BaseChain {
  name: string;
  type: 'filter' | 'nat';
  hook: string;
  priority: number;
}

// Filter chains run before DNAT (priority dstnat-10) so they see the Service address.
const BASE_CHAINS: readonly BaseChain[] = [
  { name: 'filter-prerouting-pre-dnat', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-output-pre-dnat', type: 'filter', hook: 'output', priority: -110 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: 0 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: 0 },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: 0 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
];

// Rejecting is only allowed from input/forward/output hooks on older kernels, so
// the endpoint checks hang off those and the firewall check off prerouting/output.
const JUMPS: readonly { from: string; to: string; match: string }[] = [
  { from: 'filter-input', to: 'nodeport-endpoints-check', match: 'ct state new' },
  { from: 'filter-input', to: 'service-endpoints-check', match: 'ct state new' },
  { from: 'filter-forward', to: 'service-endpoints-check', match: 'ct state new' },
  { from: 'filter-output', to: 'service-endpoints-check', match: 'ct state new' },
  { from: 'filter-prerouting-pre-dnat', to: 'firewall-check', match: 'ct state new' },
  { from: 'filter-output-pre-dnat', to: 'firewall-check', match: 'ct state new' },
  { from: 'nat-output', to: 'services', match: '' },
  { from: 'nat-prerouting', to: 'services', match: '' },
  { from: 'nat-postrouting', to: 'masquerading', match: '' },
  { from: 'filter-forward', to: 'cluster-ips-check', match: 'ct state new' },
  { from: 'filter-output', to: 'cluster-ips-check', match: 'ct state new' },
];

const ADDR3 = 'ipv4_addr . inet_proto . inet_service';

class Tx {
  readonly lines: string[] = [];
  private readonly ensured = new Set<string>();
  constructor(private readonly prefix = `ip ${NFT_TABLE}`) {}
  cmd(verb: string, kind: string, rest: string): void {
    this.lines.push(`${verb} ${kind} ${this.prefix} ${rest}`);
  }
  /** Add the chain and flush it (once): it then holds exactly what this transaction writes. */
  ensureChain(name: string): void {
    if (this.ensured.has(name)) return;
    this.ensured.add(name);
    this.cmd('add', 'chain', name);
    this.cmd('flush', 'chain', name);
  }
  rule(chain: string, rule: string, comment?: string): void {
    this.cmd('add', 'rule', `${chain} ${rule}${comment ? ` comment "${comment}"` : ''}`);
  }
  element(container: string, key: string, value?: string, comment?: string): void {
    const c = comment ? ` comment "${comment}"` : '';
    this.cmd('add', 'element', `${container} { ${key}${c}${value ? ` : ${value}` : ''} }`);
  }
}

/** Build the full-sync transaction for the `ip kube-proxy` table. */
export function buildNftablesTransaction(input: NftablesSyncInput): NftablesTransaction {
  const opts = input.options ?? {};
  const node = input.node;
  const mark = `0x${(2 ** (opts.masqueradeBit ?? 14)).toString(16)}`;
  const tx = new Tx();
  setup(tx, node, opts, mark);

  const activeChains = new Set<string>();
  const activeAffinitySets = new Set<string>();
  for (const entry of input.entries) writeService(tx, planService(entry, node.nodeName), node, opts, activeChains, activeAffinitySets);

  const staleChains = (input.existingChains ?? []).filter((c) => isNftServiceChainName(c) && !activeChains.has(c)).sort();
  for (const c of staleChains) tx.cmd('flush', 'chain', c);
  for (const s of [...(input.existingSets ?? [])].sort()) {
    if (s.startsWith('affinity-') && !activeAffinitySets.has(s)) tx.cmd('delete', 'set', s);
  }
  return { text: tx.lines.join('\n') + '\n', staleChains };
}

/** The follow-up transaction that deletes chains an earlier one flushed. */
export function deleteChainsTransaction(chains: readonly string[]): string {
  return chains.map((c) => `delete chain ip ${NFT_TABLE} ${c}\n`).join('');
}

function setup(tx: Tx, node: NodeFacts, opts: NftablesOptions, mark: string): void {
  tx.cmd('add', 'table', '{ comment "rules for kube-proxy" ; }');
  for (const bc of BASE_CHAINS) {
    tx.cmd('add', 'chain', `${bc.name} { type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`);
    tx.cmd('flush', 'chain', bc.name);
  }
  for (const j of JUMPS) {
    tx.ensureChain(j.to);
    tx.rule(j.from, `${j.match ? `${j.match} ` : ''}jump ${j.to}`);
  }
  for (const c of ['services', 'cluster-ips-check', 'masquerading', 'mark-for-masquerade']) tx.ensureChain(c);

  tx.rule('mark-for-masquerade', `mark set mark or ${mark}`);
  tx.rule('masquerading', `mark and ${mark} == 0 return`);
  tx.rule('masquerading', `mark set mark xor ${mark}`);
  tx.rule('masquerading', 'masquerade fully-random');

  tx.cmd('add', 'set', 'cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }');
  tx.rule('cluster-ips-check', 'ip daddr @cluster-ips reject', 'Reject traffic to invalid ports of ClusterIPs');
  if (opts.serviceCIDRs && opts.serviceCIDRs.length > 0) {
    tx.rule('cluster-ips-check', `ip daddr { ${opts.serviceCIDRs.join(', ')} } drop`, 'Drop traffic to unallocated ClusterIPs');
  }

  // NodePorts answer on the node's primary addresses only (nftables mode's default
  // --nodeport-addresses=primary), never on 127.0.0.1.
  tx.cmd('add', 'set', 'nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }');
  tx.cmd('flush', 'set', 'nodeport-ips');
  for (const ip of node.nodePortIPs ?? [node.nodeIP]) tx.element('nodeport-ips', ip);

  tx.cmd('add', 'map', `no-endpoint-services { type ${ADDR3} : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`);
  tx.cmd(
    'add',
    'map',
    'no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }',
  );
  tx.cmd('add', 'chain', 'reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }');
  tx.cmd('flush', 'chain', 'reject-chain');
  tx.rule('reject-chain', 'reject');
  tx.rule('service-endpoints-check', 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services');
  tx.rule('nodeport-endpoints-check', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports');

  tx.cmd('add', 'map', `firewall-ips { type ${ADDR3} : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`);
  tx.ensureChain('firewall-check');
  tx.rule('firewall-check', 'ip daddr . meta l4proto . th dport vmap @firewall-ips');

  tx.cmd('add', 'map', `service-ips { type ${ADDR3} : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`);
  tx.cmd('add', 'map', 'service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }');
  tx.rule('services', 'ip daddr . meta l4proto . th dport vmap @service-ips');
  tx.rule('services', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports');

  // A full sync refills every dispatch map and set from scratch.
  tx.cmd('flush', 'set', 'cluster-ips');
  for (const m of ['service-ips', 'firewall-ips', 'no-endpoint-services', 'no-endpoint-nodeports', 'service-nodeports']) tx.cmd('flush', 'map', m);
}

function writeService(tx: Tx, p: ServicePlan, node: NodeFacts, opts: NftablesOptions, activeChains: Set<string>, activeAffinitySets: Set<string>): void {
  const svc = p.svc;
  const affinity = svc.affinityTimeoutSeconds !== undefined;
  const ensure = (c: string): void => {
    activeChains.add(c);
    tx.ensureChain(c);
  };
  for (const ep of p.endpoints.allReachable) {
    ensure(nftEndpointChain(svc, ep));
    if (affinity) activeAffinitySets.add(nftAffinitySet(svc, ep));
  }
  const clusterChain = nftServiceChain(svc);
  const localChain = nftLocalChain(svc);
  const externalChain = nftExternalChain(svc);
  const firewallChain = nftFirewallChain(svc);
  if (p.usesClusterPolicyChain) ensure(clusterChain);
  if (p.usesLocalPolicyChain) ensure(localChain);
  const internalChain = p.internalPolicyLocal ? localChain : clusterChain;
  const externalPolicyChain = p.externalPolicyLocal ? localChain : clusterChain;
  if (p.usesExternalTrafficChain) ensure(externalChain);
  const verdict = (v: 'reject' | 'drop' | undefined): string => (v === 'reject' ? 'goto reject-chain' : 'drop');
  const key = (ip: string): string => `${ip} . ${p.proto} . ${svc.port}`;

  // Dispatch: the ClusterIP, external IPs, LB IPs and NodePort, each to its chain or,
  // without endpoints, to a reject/drop verdict checked in the filter chains.
  tx.element('cluster-ips', svc.clusterIP);
  if (p.hasInternalEndpoints) tx.element('service-ips', key(svc.clusterIP), `goto ${internalChain}`);
  else tx.element('no-endpoint-services', key(svc.clusterIP), verdict(p.internalNoEndpoints), p.spn);
  for (const ip of svc.externalIPs) {
    if (p.hasEndpoints) tx.element('service-ips', key(ip), `goto ${externalChain}`);
    if (!p.hasExternalEndpoints) tx.element('no-endpoint-services', key(ip), verdict(p.externalNoEndpoints), p.spn);
  }
  const usesFW = svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  if (usesFW) ensure(firewallChain);
  for (const ip of svc.loadBalancerIPs) {
    if (p.hasEndpoints) tx.element('service-ips', key(ip), `goto ${externalChain}`);
    if (usesFW) tx.element('firewall-ips', key(ip), `goto ${firewallChain}`);
  }
  if (!p.hasExternalEndpoints) {
    for (const ip of svc.loadBalancerIPs) tx.element('no-endpoint-services', key(ip), verdict(p.externalNoEndpoints), p.spn);
  }
  if (svc.nodePort !== 0) {
    if (p.hasEndpoints) tx.element('service-nodeports', `${p.proto} . ${svc.nodePort}`, `goto ${externalChain}`);
    if (!p.hasExternalEndpoints) tx.element('no-endpoint-nodeports', `${p.proto} . ${svc.nodePort}`, verdict(p.externalNoEndpoints), p.spn);
  }

  const detect = node.localDetector;
  if (p.hasInternalEndpoints) {
    if (opts.masqueradeAll) tx.rule(internalChain, `ip daddr ${svc.clusterIP} ${p.proto} dport ${svc.port} jump mark-for-masquerade`);
    else if (detectorImplemented(detect)) tx.rule(internalChain, `ip daddr ${svc.clusterIP} ${nftIfNotLocal(detect)} jump mark-for-masquerade`);
  }
  if (p.usesExternalTrafficChain) {
    if (!p.externalPolicyLocal) {
      tx.rule(externalChain, 'jump mark-for-masquerade');
    } else {
      if (detectorImplemented(detect)) tx.rule(externalChain, `${nftIfLocal(detect)} goto ${clusterChain}`, 'short-circuit pod traffic');
      tx.rule(externalChain, 'fib saddr type local jump mark-for-masquerade', 'masquerade local traffic');
      tx.rule(externalChain, `fib saddr type local goto ${clusterChain}`, 'short-circuit local traffic');
    }
    if (p.hasExternalEndpoints) tx.rule(externalChain, `goto ${externalPolicyChain}`);
  }
  if (usesFW) {
    const sources = [...svc.loadBalancerSourceRanges];
    // A node reaching a VIP it holds loops back with the VIP as source address.
    if (sources.some((c) => cidrContains(c, node.nodeIP))) sources.push(...svc.loadBalancerIPs);
    tx.rule(firewallChain, `ip saddr != { ${sources.join(', ')} } drop`);
  }
  if (affinity) {
    for (const ep of p.endpoints.allReachable) {
      tx.cmd('add', 'set', `${nftAffinitySet(svc, ep)} { type ipv4_addr ; flags dynamic,timeout ; timeout ${svc.affinityTimeoutSeconds}s ; }`);
    }
  }
  if (p.usesClusterPolicyChain) writeServiceToEndpointRules(tx, p, clusterChain, p.endpoints.cluster);
  if (p.usesLocalPolicyChain) writeServiceToEndpointRules(tx, p, localChain, p.endpoints.local);

  for (const ep of p.endpoints.allReachable) {
    const chain = nftEndpointChain(svc, ep);
    // Hairpin: a pod reaching itself through the Service is SNATed.
    tx.rule(chain, `ip saddr ${ep.ip} jump mark-for-masquerade`);
    if (affinity) tx.rule(chain, `update @${nftAffinitySet(svc, ep)} { ip saddr }`);
    tx.rule(chain, `meta l4proto ${p.proto} dnat to ${endpointString(ep)}`);
  }
}

function writeServiceToEndpointRules(tx: Tx, p: ServicePlan, chain: string, endpoints: readonly EndpointInfo[]): void {
  // A client in an endpoint's affinity set (refreshed on every new connection) goes back there.
  if (p.svc.affinityTimeoutSeconds !== undefined) {
    for (const ep of endpoints) tx.rule(chain, `ip saddr @${nftAffinitySet(p.svc, ep)} goto ${nftEndpointChain(p.svc, ep)}`);
  }
  const vmap = endpoints.map((ep, i) => `${i} : goto ${nftEndpointChain(p.svc, ep)}`).join(' , ');
  tx.rule(chain, `numgen random mod ${endpoints.length} vmap { ${vmap} }`);
}
