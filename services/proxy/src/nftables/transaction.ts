/**
 * nftables mode: the model → one `nft -f` transaction for the `ip kube-proxy` table, in the layout of kube-proxy's
 * nftables proxier (pkg/proxy/nftables/proxier.go): verdict maps keyed by address . protocol . port send packets to
 * per-service chains, which pick an endpoint with `numgen random mod N`. A full sync (re)creates the table's
 * skeleton, flushes the dispatch maps and writes every Service; a partial sync, as kube-proxy's, rewrites only the
 * chains of the Services that changed and brings the dispatch maps' elements up to date one by one. Service chains
 * nothing uses any more are flushed, and deleted by the transaction of a sync at least STALE_CHAIN_DELAY_MS later,
 * as kube-proxy does (its staleChains).
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
  /** Service chains that earlier transactions flushed as stale and that still exist, with when (ms) each was flushed. */
  pendingChains?: ReadonlyMap<string, number>;
  /** When this sync starts (ms, the clock of `pendingChains`). */
  now?: number;
}

export interface NftablesTransaction {
  /** The transaction as kube-proxy writes it, one command a line; '' when a partial sync has nothing to change. */
  text: string;
  /** The same transaction as `nft -f` gets it: phrased so nft needs no cache of the table's chains (see nftInput). */
  input: string;
  /** Service chains this transaction flushed because nothing uses them any more (deleted by a later one). */
  staleChains: string[];
  /** Chains flushed at least STALE_CHAIN_DELAY_MS earlier that this transaction deletes. */
  deletedChains: string[];
  /** Flushed chains still to delete once it is applied (the next sync's `pendingChains`). */
  pendingChains: Map<string, number>;
  /** Per-service chains in use once this transaction is applied (written now or left from earlier syncs). */
  activeChains: Set<string>;
  /** Affinity sets in use once it is applied. */
  activeSets: Set<string>;
  /** The dispatch maps' elements once it is applied (the next partial sync's `elements`). */
  elements: Map<string, string>;
}

/**
 * How long a flushed chain waits before a transaction deletes it. Kernels before 6.2 still count the reference of a
 * map element to a chain for a moment after the element is removed, so a chain cannot be deleted in the transaction
 * that removes the last element pointing at it; kube-proxy deletes stale chains in a sync at least 1 s later.
 */
export const STALE_CHAIN_DELAY_MS = 1000;

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

/** The table's named sets and maps: what each is declared with (its elements are written element by element). */
const CONTAINERS: Readonly<Record<string, { kind: 'set' | 'map'; definition: string }>> = {
  'cluster-ips': { kind: 'set', definition: 'type ipv4_addr ; comment "Active ClusterIPs"' },
  'nodeport-ips': { kind: 'set', definition: 'type ipv4_addr ; comment "IPs that accept NodePort traffic"' },
  'no-endpoint-services': {
    kind: 'map',
    definition: `type ${ADDR3} : verdict ; comment "vmap to drop or reject packets to services with no endpoints"`,
  },
  'no-endpoint-nodeports': {
    kind: 'map',
    definition: 'type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints"',
  },
  'firewall-ips': { kind: 'map', definition: `type ${ADDR3} : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges"` },
  'service-ips': { kind: 'map', definition: `type ${ADDR3} : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"` },
  'service-nodeports': { kind: 'map', definition: 'type inet_proto . inet_service : verdict ; comment "NodePort traffic"' },
};

const PREFIX = `ip ${NFT_TABLE}`;

/**
 * One transaction, kept twice: as kube-proxy's commands, one a line (`text`), and as `nft -f` gets it (`input`), where
 * the rules of each chain are one `add chain NAME { rule ; rule ; }` and the elements added to each set or map one
 * `add map NAME { definition ; elements = { ... } ; }`, after every other command, in the same order within a chain
 * or a map. nft (1.0.6, src/cache.c) loads the names of every chain and set of the table before it evaluates an
 * `add rule` or `add element` (at 5,000 Services 15,000 chains and 5,000 anonymous sets: 0.1 s before it sends
 * anything); `add chain` and `add set`/`add map`, with their contents in a block, need only the list of tables. The
 * kernel gets the same messages either way: the table reads the same (`nft list table ip kube-proxy`).
 */
class Tx {
  readonly lines: string[] = [];
  private readonly head: string[] = [];
  private readonly rules = new Map<string, string[]>();
  private readonly elements = new Map<string, string[]>();
  private readonly ensured = new Set<string>();
  cmd(verb: string, kind: string, rest: string): void {
    const line = `${verb} ${kind} ${PREFIX} ${rest}`;
    this.lines.push(line);
    this.head.push(line);
  }
  /** Add the chain and flush it (once): it then holds exactly what this transaction writes. */
  ensureChain(name: string): void {
    if (this.ensured.has(name)) return;
    this.ensured.add(name);
    this.cmd('add', 'chain', name);
    this.cmd('flush', 'chain', name);
  }
  rule(chain: string, rule: string, comment?: string): void {
    const text = `${rule}${comment ? ` comment "${comment}"` : ''}`;
    this.lines.push(`add rule ${PREFIX} ${chain} ${text}`);
    let rules = this.rules.get(chain);
    if (!rules) this.rules.set(chain, (rules = []));
    rules.push(text);
  }
  /** `add element` of `body` (key, comment, ": verdict") to one of CONTAINERS. */
  element(container: string, body: string): void {
    this.lines.push(`add element ${PREFIX} ${container} { ${body} }`);
    let elements = this.elements.get(container);
    if (!elements) this.elements.set(container, (elements = []));
    elements.push(body);
  }
  /** Declare one of CONTAINERS. */
  declare(container: string): void {
    const c = CONTAINERS[container];
    this.cmd('add', c.kind, `${container} { ${c.definition} ; }`);
  }
  text(): string {
    return this.lines.length > 0 ? this.lines.join('\n') + '\n' : '';
  }
  input(): string {
    if (this.lines.length === 0) return '';
    const out = [...this.head];
    for (const [chain, rules] of this.rules) out.push(`add chain ${PREFIX} ${chain} { ${rules.join(' ; ')} ; }`);
    for (const [name, elements] of this.elements) {
      const c = CONTAINERS[name];
      out.push(`add ${c.kind} ${PREFIX} ${name} { ${c.definition} ; elements = { ${elements.join(', ')} } ; }`);
    }
    return out.join('\n') + '\n';
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

  // A chain waiting for deletion that a Service uses again was just rewritten (its Service changed): it stays.
  const pending = new Map([...(input.pendingChains ?? [])].filter(([c]) => !activeChains.has(c)));
  const staleChains = (input.existingChains ?? []).filter((c) => isNftServiceChainName(c) && !activeChains.has(c) && !pending.has(c)).sort();
  for (const c of staleChains) tx.cmd('flush', 'chain', c);
  for (const s of [...(input.existingSets ?? [])].sort()) {
    if (s.startsWith('affinity-') && !activeSets.has(s)) tx.cmd('delete', 'set', s);
  }
  elements.deleteLeftovers();
  const now = input.now ?? 0;
  const deletedChains = [...pending]
    .filter(([, flushedAt]) => now - flushedAt >= STALE_CHAIN_DELAY_MS)
    .map(([c]) => c)
    .sort();
  for (const c of deletedChains) {
    tx.cmd('delete', 'chain', c);
    pending.delete(c);
  }
  for (const c of staleChains) pending.set(c, now);
  return {
    text: tx.text(),
    input: tx.input(),
    staleChains,
    deletedChains,
    pendingChains: pending,
    activeChains,
    activeSets,
    elements: elements.current,
  };
}

/** A Service port's output: its elements always (each written only if the map lacks it), the rest if `rewrite`. */
function writeService(tx: Tx, out: NftServiceOutput, elements: ElementWriter, rewrite: boolean): void {
  for (const op of out.ops) {
    if (op.kind === 'element') elements.ensure(op.container, op.key, op.value);
    else if (!rewrite) continue;
    else if (op.kind === 'chain') tx.ensureChain(op.name);
    else if (op.kind === 'rule') {
      const space = op.text.indexOf(' ');
      tx.rule(op.text.slice(0, space), op.text.slice(space + 1));
    } else tx.cmd('add', 'set', op.text);
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
    this.tx.element(container, `${key}${value}`);
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

  tx.declare('cluster-ips');
  tx.rule('cluster-ips-check', 'ip daddr @cluster-ips reject', 'Reject traffic to invalid ports of ClusterIPs');
  if (opts.serviceCIDRs && opts.serviceCIDRs.length > 0) {
    tx.rule('cluster-ips-check', `ip daddr { ${opts.serviceCIDRs.join(', ')} } drop`, 'Drop traffic to unallocated ClusterIPs');
  }

  // NodePorts answer on the node's primary addresses only (nftables mode's default
  // --nodeport-addresses=primary), never on 127.0.0.1.
  tx.declare('nodeport-ips');
  tx.cmd('flush', 'set', 'nodeport-ips');
  for (const ip of node.nodePortIPs ?? [node.nodeIP]) tx.element('nodeport-ips', ip);

  tx.declare('no-endpoint-services');
  tx.declare('no-endpoint-nodeports');
  tx.cmd('add', 'chain', 'reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }');
  tx.cmd('flush', 'chain', 'reject-chain');
  tx.rule('reject-chain', 'reject');
  tx.rule('service-endpoints-check', 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services');
  tx.rule('nodeport-endpoints-check', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports');

  tx.declare('firewall-ips');
  tx.ensureChain('firewall-check');
  tx.rule('firewall-check', 'ip daddr . meta l4proto . th dport vmap @firewall-ips');

  tx.declare('service-ips');
  tx.declare('service-nodeports');
  tx.rule('services', 'ip daddr . meta l4proto . th dport vmap @service-ips');
  tx.rule('services', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports');

  // A full sync refills every dispatch map and set from scratch.
  tx.cmd('flush', 'set', 'cluster-ips');
  for (const m of ['service-ips', 'firewall-ips', 'no-endpoint-services', 'no-endpoint-nodeports', 'service-nodeports']) tx.cmd('flush', 'map', m);
}
