/**
 * nftables mode: the model → one `nft -f` transaction for the `ip kube-proxy` table, in the layout of kube-proxy's
 * nftables proxier (pkg/proxy/nftables/proxier.go): verdict maps keyed by address . protocol . port send packets to
 * per-service chains, which pick an endpoint with `numgen random mod N`. A full sync (re)creates the table's
 * skeleton, flushes the dispatch maps and writes every Service; a partial sync, as kube-proxy's, rewrites only the
 * chains of the Services that changed and brings the dispatch maps' elements up to date one by one.
 */
import { isNftServiceChainName } from '../naming.js';
import type { NodeFacts, ServiceEntry } from '../model/types.js';
import { NftServiceMemo, type NftServiceOutput, type NftablesOptions } from './service-ops.js';

export type { NftablesOptions } from './service-ops.js';

export const NFT_TABLE = 'kube-proxy';

/**
 * The elements of the dispatch maps and sets (cluster-ips, service-ips, service-nodeports, firewall-ips,
 * no-endpoint-*), by "container key" (container names have no spaces), each with the rest of its element text:
 * what kube-proxy's nftElementStorage keeps so a partial sync changes only the elements that differ.
 */
export type NftElements = ReadonlyMap<string, string>;

export interface NftablesSyncInput {
  entries: readonly ServiceEntry[];
  node: NodeFacts;
  options?: NftablesOptions;
  /** Chains in the table now: stale service chains are flushed. */
  existingChains?: readonly string[];
  /** Sets in the table now: stale affinity sets are deleted. */
  existingSets?: readonly string[];
  /**
   * A partial sync: only the chains of these Services ("namespace/name") are rewritten, and the dispatch maps hold
   * `elements` (what the last successful sync left). Undefined = a full sync. Node facts or options that changed
   * since need a full sync.
   */
  partial?: { changedServices: ReadonlySet<string>; elements: NftElements };
  /** Per-entry outputs of earlier builds, reused for entries that are the same objects. */
  memo?: NftServiceMemo;
}

export interface NftablesTransaction {
  /** The `nft -f` input; '' when a partial sync has nothing to change. */
  text: string;
  /**
   * Service chains this transaction flushed because nothing uses them any more. They
   * must be deleted in a later transaction: kernels before 6.2 still count a map
   * element's reference to a chain for a moment after the element is removed.
   */
  staleChains: string[];
  /** Per-service chains in use once this transaction is applied (written now or left from earlier syncs). */
  activeChains: Set<string>;
  /** Affinity sets in use once it is applied. */
  activeSets: Set<string>;
  /** The dispatch maps' elements once it is applied (the next partial sync's `elements`). */
  elements: Map<string, string>;
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
}

/** Build the transaction of a full sync, or of a partial one (`input.partial`). */
export function buildNftablesTransaction(input: NftablesSyncInput): NftablesTransaction {
  const opts = input.options ?? {};
  const tx = new Tx();
  const partial = input.partial;
  if (!partial) setup(tx, input.node, opts, `0x${(2 ** (opts.masqueradeBit ?? 14)).toString(16)}`);

  const outputs = (input.memo ?? new NftServiceMemo()).outputs(input.entries, input.node, opts);
  const elements = new ElementWriter(tx, partial?.elements);
  const activeChains = new Set<string>();
  const activeSets = new Set<string>();
  for (const out of outputs) {
    for (const c of out.chains) activeChains.add(c);
    for (const s of out.affinitySets) activeSets.add(s);
    writeService(tx, out, elements, !partial || partial.changedServices.has(out.service));
  }

  const staleChains = (input.existingChains ?? []).filter((c) => isNftServiceChainName(c) && !activeChains.has(c)).sort();
  for (const c of staleChains) tx.cmd('flush', 'chain', c);
  for (const s of [...(input.existingSets ?? [])].sort()) {
    if (s.startsWith('affinity-') && !activeSets.has(s)) tx.cmd('delete', 'set', s);
  }
  elements.deleteLeftovers();
  return { text: tx.lines.length > 0 ? tx.lines.join('\n') + '\n' : '', staleChains, activeChains, activeSets, elements: elements.current };
}

/** A Service port's output: its elements always (each written only if the map lacks it), the rest if `rewrite`. */
function writeService(tx: Tx, out: NftServiceOutput, elements: ElementWriter, rewrite: boolean): void {
  for (const op of out.ops) {
    if (op.kind === 'element') elements.ensure(op.container, op.key, op.value);
    else if (!rewrite) continue;
    else if (op.kind === 'chain') tx.ensureChain(op.name);
    else if (op.kind === 'rule') tx.cmd('add', 'rule', op.text);
    else tx.cmd('add', 'set', op.text);
  }
}

/**
 * kube-proxy's nftElementStorage: the elements a map holds, so that each sync adds only the missing ones, replaces
 * those whose verdict changed (delete, then add) and deletes, at the end, those no Service wants any more. A full
 * sync starts from flushed maps, so from nothing.
 */
class ElementWriter {
  readonly current: Map<string, string>;
  private readonly wanted = new Set<string>();
  constructor(
    private readonly tx: Tx,
    held?: NftElements,
  ) {
    this.current = new Map(held);
  }
  ensure(container: string, key: string, value: string): void {
    const k = `${container} ${key}`;
    this.wanted.add(k);
    const held = this.current.get(k);
    if (held === value) return;
    if (held !== undefined) this.tx.cmd('delete', 'element', `${container} { ${key} }`);
    this.tx.cmd('add', 'element', `${container} { ${key}${value} }`);
    this.current.set(k, value);
  }
  deleteLeftovers(): void {
    for (const k of [...this.current.keys()]) {
      if (this.wanted.has(k)) continue;
      const space = k.indexOf(' ');
      this.tx.cmd('delete', 'element', `${k.slice(0, space)} { ${k.slice(space + 1)} }`);
      this.current.delete(k);
    }
  }
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
  for (const ip of node.nodePortIPs ?? [node.nodeIP]) tx.cmd('add', 'element', `nodeport-ips { ${ip} }`);

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
