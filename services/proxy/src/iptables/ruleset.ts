/**
 * iptables mode: the model → the `iptables-restore --noflush` input for the filter
 * and nat tables, in the layout, order and comments of kube-proxy's syncProxyRules
 * (pkg/proxy/iptables/proxier.go). Services are written in "ns/name:port" order
 * where kube-proxy follows Go map order.
 */
import { planService, type NoEndpointVerdict } from '../model/plan.js';
import type { NodeFacts, ServiceEntry } from '../model/types.js';
import { isServiceChainName } from '../naming.js';
import { Lines, chainLine, type Part } from './lines.js';
import { serviceChains, writeServiceChains } from './service-chains.js';

export { probability } from './service-chains.js';

export interface IptablesOptions {
  /** Masquerade all ClusterIP traffic, not only off-cluster traffic (--masquerade-all). Default false. */
  masqueradeAll?: boolean;
  /** Bit of the fwmark that flags a packet for SNAT (--iptables-masquerade-bit). Default 14 (0x4000). */
  masqueradeBit?: number;
  /** NodePorts also answer on 127.0.0.0/8 (needs route_localnet=1). Default true, as kube-proxy. */
  localhostNodePorts?: boolean;
  /** nf_conntrack_tcp_be_liberal is set, so INVALID packets need not be dropped. Default false. */
  conntrackTCPLiberal?: boolean;
  /** MASQUERADE gets --random-fully (iptables supports it). Default false. */
  randomFully?: boolean;
}

export interface IptablesSyncInput {
  entries: readonly ServiceEntry[];
  node: NodeFacts;
  options?: IptablesOptions;
  /**
   * Partial sync: only the per-service chains of these Services ("namespace/name") are
   * written; the others are left as they are in the kernel (iptables-restore --noflush
   * does not touch chains the input does not name). Undefined = full sync.
   */
  changedServices?: ReadonlySet<string>;
  /** The nat chains that exist now (iptables-save); kube-proxy's stale ones among them are deleted. */
  existingNatChains?: readonly string[];
  /**
   * At most this many Services' chains per nat transaction (a `*nat` … `COMMIT` block of the input); undefined: the
   * whole nat table in one. For iptables-nft only, see NAT_TRANSACTION_SERVICES.
   */
  natTransactionServices?: number;
  /**
   * What earlier builds computed for each Service port, reused for the entries that are the same objects (the model
   * tracker keeps an unchanged Service's entries): with thousands of Services, computing every Service's rules again
   * on each sync only to throw most of them away was most of a partial sync's time.
   */
  memo?: IptablesRuleMemo;
}

export interface IptablesRuleset {
  /** The `iptables-restore --noflush --counters` input. */
  text: string;
  /** Every per-service nat chain the ruleset uses, written or not (the next sync's existing chains). */
  activeNatChains: Set<string>;
  /** Chains this input deletes with -X. */
  deletedChains: string[];
  /**
   * "-A" rules per table that the kernel holds once this input is restored: in a partial sync, the rules
   * of the unchanged Services' chains (computed, not written) count too (kube-proxy's iptables_total).
   */
  ruleCounts: { filter: number; nat: number };
  /**
   * The rules of the chains every sync writes whole (all but the Services' own: KUBE-SERVICES, KUBE-NODEPORTS, the
   * filter chains...) by "table/chain", in the input's order: what they hold once this input is restored.
   */
  topLevel: Map<string, string[]>;
}

/**
 * How many Services' chains one nat transaction of iptables-nft holds when a sync writes more. iptables-nft 1.8.9
 * collects the chains a transaction names (each rule's chain and its jump target) in a list sorted by name, inserting
 * each by walking the list from its head (nft-cache.c, cache_chain_list_insert): a transaction naming all 15,000
 * chains of 5,000 Services walks thousands of names per rule, 9-13 s of CPU for one full sync. Smaller transactions
 * walk shorter lists, but the kernel checks the whole ruleset reachable from the base chains for loops at each
 * commit (about 25 ms at 5,000 Services): 400 Services per transaction was the cheapest (about 1.5 s for the
 * restore, against 2.5 s with 100 and 2 s with 1,000). Each transaction is atomic, the sync as a whole is not (as
 * the filter and nat tables never were together): the Services' chains come first, KUBE-SERVICES and KUBE-NODEPORTS,
 * which start using them, and the deletion of stale chains last, so every state in between routes as the old or the
 * new rules do. A failure stops the restore where it is, and the next sync reads the tables back. iptables-legacy
 * replaces the whole table on each COMMIT, so it gets one transaction.
 */
export const NAT_TRANSACTION_SERVICES = 400;

/** Above this many endpoints kube-proxy drops per-endpoint comments to keep the ruleset small. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

const NODEPORTS_LAST_RULE_COMMENT = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';

/** The SNAT mark for a bit: "0x4000" for bit 14 (written as iptables-save prints it). */
export function masqueradeMark(bit = 14): string {
  return `0x${(2 ** bit).toString(16)}`;
}

/** Build the full (or partial) iptables-restore input for the filter and nat tables. */
export function buildIptablesRules(input: IptablesSyncInput): IptablesRuleset {
  const opts = input.options ?? {};
  const node = input.node;
  const mark = masqueradeMark(opts.masqueradeBit ?? 14);
  const localhostNodePorts = opts.localhostNodePorts ?? true;
  const filterChains = new Lines();
  const filterRules = new Lines();
  const natChains = new Lines();
  // Per-service chains are declared in descending name order: iptables-nft 1.8.9 puts each chain a transaction names
  // in a list sorted by name, walking it from the head (see NAT_TRANSACTION_SERVICES), so a name smaller than all
  // before it costs one comparison, where ascending or hash order costs O(chains²): 2 s of CPU for 15,000 chains.
  const perServiceChains: Group[] = [];
  /** The rules of the fixed chains (KUBE-POSTROUTING, KUBE-MARK-MASQ), then of KUBE-SERVICES and KUBE-NODEPORTS. */
  const natRules = new Lines();
  const natTop = new Lines();
  const skipped = { rules: 0 };

  for (const c of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) filterChains.write(chainLine(c));
  for (const c of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) natChains.write(chainLine(c));

  // SNAT happens in POSTROUTING for packets marked on the way in; the mark is
  // cleared first so a packet that traverses the stack again is not SNATed twice.
  natRules.write('-A', 'KUBE-POSTROUTING', '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
  natRules.write('-A', 'KUBE-POSTROUTING', '-j', 'MARK', '--xor-mark', mark);
  natRules.append('KUBE-POSTROUTING', '"kubernetes service traffic requiring SNAT"', '-j', 'MASQUERADE', opts.randomFully ? ['--random-fully'] : []);
  natRules.write('-A', 'KUBE-MARK-MASQ', '-j', 'MARK', '--or-mark', mark);

  if (localhostNodePorts) {
    // route_localnet (needed for localhost NodePorts) lets martian packets to
    // 127.0.0.0/8 in from outside; this rule (also kubelet's) closes that hole.
    filterChains.write(chainLine('KUBE-FIREWALL'));
    const martian = ['-d', '127.0.0.0/8', '!', '-s', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT'];
    filterRules.append('KUBE-FIREWALL', '"block incoming localnet connections"', martian, '-j', 'DROP');
  }

  const activeNatChains = new Set<string>();
  const totalEndpoints = input.entries.reduce((n, e) => n + e.endpoints.length, 0);
  const largeCluster = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const comment = (text: string): string[] => (largeCluster ? [] : ['-m', 'comment', '--comment', text]);

  const memoKey = JSON.stringify([node, opts, largeCluster]);
  const memo = input.memo?.valid(memoKey);
  const ctx: ServiceContext = { node, masqueradeAll: opts.masqueradeAll ?? false, comment };
  for (const entry of input.entries) {
    let out = memo?.get(entry);
    if (out === undefined) {
      out = serviceOutput(entry, ctx);
      memo?.set(entry, out);
    }
    const svc = entry.service;
    filterRules.lines.push(...out.filter);
    natTop.lines.push(...out.natTop);
    // Per-service chains: for an unchanged Service in a partial sync they are not written, only counted and their
    // names kept (they are in use).
    const skip = input.changedServices !== undefined && !input.changedServices.has(`${svc.namespace}/${svc.name}`);
    if (skip) skipped.rules += out.chainRules.length;
    else perServiceChains.push({ decls: out.chainDecls, rules: out.chainRules });
    for (const c of out.chains) activeNatChains.add(c);
  }

  // Delete chains no longer in use: a chain line flushes it, then -X removes it.
  const deletedChains = (input.existingNatChains ?? []).filter((c) => isServiceChainName(c) && !activeNatChains.has(c)).sort();

  // Finally, the jump to KUBE-NODEPORTS, after every service portal rule.
  const toLocal = ['-m', 'addrtype', '--dst-type', 'LOCAL', ...(localhostNodePorts ? [] : ['!', '-d', '127.0.0.0/8'])];
  const nodePortsJump = new Lines();
  nodePortsJump.append('KUBE-SERVICES', NODEPORTS_LAST_RULE_COMMENT, toLocal, '-j', 'KUBE-NODEPORTS');

  // Without nf_conntrack_tcp_be_liberal, an out-of-window packet is INVALID and would
  // reach the pod un-NATed and draw a RST (kubernetes#74839): drop it instead.
  if (!opts.conntrackTCPLiberal) filterRules.write('-A', 'KUBE-FORWARD', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP');
  // Forward marked traffic even when the FORWARD policy is DROP (NodePorts to other nodes' pods).
  filterRules.append('KUBE-FORWARD', '"kubernetes forwarding rules"', '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'ACCEPT');
  filterRules.append('KUBE-FORWARD', '"kubernetes forwarding conntrack rule"', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');

  const top: NatTop = {
    decls: natChains.lines,
    fixedRules: natRules.lines,
    // iptables-nft: in descending order of the chain each jumps to, for the reason the declarations are (kube-proxy's
    // order of them is Go's map order, random), in every sync alike so that a partial sync finds them unchanged.
    topRules: input.natTransactionServices === undefined ? natTop.lines : byJumpTargetDescending(natTop.lines),
    nodePortsJump: nodePortsJump.lines,
  };
  const nat = natTransactions(top, perServiceChains, deletedChains, input.natTransactionServices);
  const text = ['*filter', ...filterChains.lines, ...filterRules.lines, 'COMMIT', ...nat, ''].join('\n');
  const appended = (lines: readonly string[]): number => lines.filter((l) => l.startsWith('-A ')).length;
  const written = perServiceChains.reduce((n, g) => n + appended(g.rules), 0);
  const ruleCounts = { filter: appended(filterRules.lines), nat: appended(natRules.lines) + appended(natTop.lines) + 1 + written + skipped.rules };
  const topLevel = new Map<string, string[]>();
  const keep = (table: string, decls: readonly string[], ...rules: (readonly string[])[]): void => {
    for (const d of decls) topLevel.set(`${table}/${d.slice(1, d.indexOf(' '))}`, []);
    for (const r of rules.flat()) topLevel.get(`${table}/${r.slice(3, r.indexOf(' ', 3))}`)?.push(r);
  };
  keep('filter', filterChains.lines, filterRules.lines);
  keep('nat', top.decls, top.fixedRules, top.topRules, top.nodePortsJump);
  return { text, activeNatChains, deletedChains, ruleCounts, topLevel };
}

/** One Service port's chains as a sync writes them: their declarations and their rules. */
interface Group {
  decls: readonly string[];
  rules: readonly string[];
}

/** Sorted, last first (the default sort, reversed: a comparator of our own costs more at 15,000 names). */
const descending = (xs: string[]): string[] => xs.sort().reverse();

/** The nat lines of the chains every sync writes whole. */
interface NatTop {
  /** Declarations of KUBE-SERVICES, KUBE-NODEPORTS, KUBE-POSTROUTING and KUBE-MARK-MASQ. */
  decls: readonly string[];
  /** KUBE-POSTROUTING's and KUBE-MARK-MASQ's rules. */
  fixedRules: readonly string[];
  /** The rules of KUBE-SERVICES and KUBE-NODEPORTS that jump to the Services' chains. */
  topRules: readonly string[];
  /** The last rule of KUBE-SERVICES. */
  nodePortsJump: readonly string[];
}

/**
 * The nat table's part of the input: one transaction, or, with `perTransaction` and more Services than that, the
 * fixed chains first, then the Services' chains `perTransaction` Services at a time, then KUBE-SERVICES and
 * KUBE-NODEPORTS with the stale chains' deletion (NAT_TRANSACTION_SERVICES says why and why in this order).
 */
function natTransactions(top: NatTop, groups: readonly Group[], stale: readonly string[], perTransaction: number | undefined): string[] {
  const staleDecls = descending(stale.map(chainLine));
  const deletes = stale.map((c) => `-X ${c}`);
  const decls = (gs: readonly Group[]) => descending(gs.flatMap((g) => g.decls));
  const rules = (gs: readonly Group[]) => gs.flatMap((g) => g.rules);
  if (perTransaction === undefined || groups.length <= perTransaction) {
    return [
      '*nat',
      ...top.decls,
      ...decls(groups),
      ...staleDecls,
      ...top.fixedRules,
      ...rules(groups),
      ...top.topRules,
      ...top.nodePortsJump,
      ...deletes,
      'COMMIT',
    ];
  }
  const [fixed, last] = [top.decls.filter((l) => !isTopLevel(l)), top.decls.filter(isTopLevel)];
  const out = ['*nat', ...fixed, ...top.fixedRules, 'COMMIT'];
  for (let i = 0; i < groups.length; i += perTransaction) {
    const some = groups.slice(i, i + perTransaction);
    out.push('*nat', ...decls(some), ...rules(some), 'COMMIT');
  }
  out.push('*nat', ...last, ...staleDecls, ...top.topRules, ...top.nodePortsJump, ...deletes, 'COMMIT');
  return out;
}

/** Rules in descending order of the chain each jumps to (its last "-j"). */
function byJumpTargetDescending(rules: readonly string[]): string[] {
  return descending(rules.map((r) => `${r.slice(r.lastIndexOf(' -j ') + 4)}\n${r}`)).map((k) => k.slice(k.indexOf('\n') + 1));
}

/** A declaration of KUBE-SERVICES or KUBE-NODEPORTS, the chains that lead to the Services' chains. */
const isTopLevel = (decl: string): boolean => decl === chainLine('KUBE-SERVICES') || decl === chainLine('KUBE-NODEPORTS');

/** What one Service port adds to the restore input; a pure function of the entry and the sync's context. */
interface ServiceOutput {
  /** Its filter rules (KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS, KUBE-PROXY-FIREWALL). */
  filter: string[];
  /** Its rules in the top-level nat chains (KUBE-SERVICES, KUBE-NODEPORTS). */
  natTop: string[];
  /** Its per-service chains: their declarations, their rules, their names. */
  chainDecls: string[];
  chainRules: string[];
  chains: string[];
}

interface ServiceContext {
  node: NodeFacts;
  masqueradeAll: boolean;
  comment: (text: string) => string[];
}

function serviceOutput(entry: ServiceEntry, ctx: ServiceContext): ServiceOutput {
  const filterRules = new Lines();
  const natRules = new Lines();
  const p = planService(entry, ctx.node.nodeName);
  const svc = p.svc;
  const chains = serviceChains(p);
  const match = ['-m', p.proto, '-p', p.proto];
  const to = (ip: string): (string | number)[] => [...match, '-d', ip, '--dport', svc.port];
  // Traffic this node cannot serve: REJECT when the Service has no endpoints at
  // all, DROP when a Local policy leaves none on this node.
  const refuse = (chain: string, verdict: NoEndpointVerdict | undefined, ...matches: Part[]): void => {
    const why = verdict === 'reject' ? 'has no endpoints' : 'has no local endpoints';
    filterRules.append(chain, `"${p.spn} ${why}"`, ...matches, '-j', verdict === 'reject' ? 'REJECT' : 'DROP');
  };
  const refuseExternal = (...matches: Part[]): void => {
    if (!p.hasExternalEndpoints) refuse('KUBE-EXTERNAL-SERVICES', p.externalNoEndpoints, ...matches);
  };

  // Capture the ClusterIP.
  if (p.hasInternalEndpoints) natRules.append('KUBE-SERVICES', `"${p.spn} cluster IP"`, to(svc.clusterIP), '-j', chains.internal);
  else refuse('KUBE-SERVICES', p.internalNoEndpoints, to(svc.clusterIP));
  // Capture external IPs.
  for (const ip of svc.externalIPs) {
    if (p.hasEndpoints) natRules.append('KUBE-SERVICES', `"${p.spn} external IP"`, to(ip), '-j', chains.ext);
    refuseExternal(to(ip));
  }
  // Capture load-balancer ingress; as in kube-proxy, the firewall drops for all of
  // a Service's VIPs come before their no-endpoint rules.
  for (const ip of svc.loadBalancerIPs) {
    if (p.hasEndpoints) natRules.append('KUBE-SERVICES', `"${p.spn} loadbalancer IP"`, to(ip), '-j', chains.lb);
    if (chains.usesFW) filterRules.append('KUBE-PROXY-FIREWALL', `"${p.spn} traffic not accepted by ${chains.fw}"`, to(ip), '-j', 'DROP');
  }
  for (const ip of svc.loadBalancerIPs) refuseExternal(to(ip));
  // Capture NodePorts (not subject to loadBalancerSourceRanges, as in Kubernetes).
  if (svc.nodePort !== 0) {
    if (p.hasEndpoints) natRules.append('KUBE-NODEPORTS', p.spn, match, '--dport', svc.nodePort, '-j', chains.ext);
    refuseExternal('-m', 'addrtype', '--dst-type', 'LOCAL', match, '--dport', svc.nodePort);
  }
  // The health check NodePort is accepted whether or not this node has endpoints:
  // answering "no" is how the load balancer learns to avoid this node.
  if (svc.healthCheckNodePort !== 0) {
    filterRules.append('KUBE-NODEPORTS', `"${p.spn} health check node port"`, '-m', 'tcp', '-p', 'tcp', '--dport', svc.healthCheckNodePort, '-j', 'ACCEPT');
  }

  const out = { chains: new Lines(), rules: new Lines() };
  const declared = new Set<string>();
  writeServiceChains(p, chains, { out, active: declared, node: ctx.node, masqueradeAll: ctx.masqueradeAll, comment: ctx.comment });
  return { filter: filterRules.lines, natTop: natRules.lines, chainDecls: out.chains.lines, chainRules: out.rules.lines, chains: [...declared] };
}

/**
 * kube-proxy's change trackers mean a sync computes only what changed; here, the rules of each Service port are
 * remembered by its model entry, for as long as the node, the options and the large-cluster switch (comments or
 * not) stay as they were. Entries are never changed in place (the model tracker replaces a changed Service's), so
 * the same entry gives the same rules.
 */
export class IptablesRuleMemo {
  private key = '';
  private outputs = new WeakMap<ServiceEntry, ServiceOutput>();

  /** This memo for a build whose context is `key`: emptied first when the context changed. */
  valid(key: string): this {
    if (key !== this.key) {
      this.key = key;
      this.outputs = new WeakMap();
    }
    return this;
  }

  get(entry: ServiceEntry): ServiceOutput | undefined {
    return this.outputs.get(entry);
  }

  set(entry: ServiceEntry, out: ServiceOutput): void {
    this.outputs.set(entry, out);
  }
}
