/**
 * The nftables ruleset of the agent, from a NodePlan: a table of its own, `inet kemu-netpol`, as kube-network-policies
 * keeps `inet kube-network-policies`, beside kube-proxy's `ip kube-proxy`. Pure: `nftState` says what the table must
 * hold, `nftFull` writes all of it, `nftChanges` only the difference from what the kernel holds (both for `nft -f`,
 * each one transaction, neither reading the ruleset back).
 *
 * Layout (read it with `nft list table inet kemu-netpol`):
 *
 *   egress-forward, egress-input (filter hooks)  ct state established,related accept; ip saddr vmap @egress-pods
 *   ingress-forward (filter hook)                 ct state established,related accept; ip daddr vmap @ingress-pods
 *   map egress-pods / ingress-pods      an isolated local pod's address → jump to its pod chain
 *   chain <d>-pod-<ns>/<pod>            → <d>-policy-<ns>/<policy> for each policy selecting the pod; else drop
 *   chain <d>-policy-<ns>/<policy>      one rule per rule × peer match × port, accept
 *   set <d>-peers-<ns>/<policy>/<i>     the pod addresses rule i admits (a label change is an element update)
 *
 * An accept ends only the base chain it happens in: egress and ingress are separate base chains, so traffic between
 * two isolated pods of one node is judged twice (the sender's egress, then the receiver's ingress), and kube-proxy's
 * own chains on the same hooks still see it. The hooks are forward and input: both come after prerouting, where
 * kube-proxy's DNAT runs (dstnat, -100), so Service traffic is judged against the real backend pod.
 */
import { createHash } from 'node:crypto';
import type { Direction, NodePlan, PodPlan, PolicyPlan, PortMatch } from './model.js';

export const NFT_FAMILY = 'inet';
export const NFT_TABLE = 'kemu-netpol';
const T = `${NFT_FAMILY} ${NFT_TABLE}`;

/** nft names may hold letters, digits and `/_.-` (kube-proxy's nftables chains carry `ns/name` the same way). */
const MAX_NAME = 200;
const named = (prefix: string, key: string): string => {
  const n = `${prefix}-${key}`;
  return n.length <= MAX_NAME ? n : `${prefix}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
};
export const nftPodChain = (pod: Pick<PodPlan, 'direction' | 'key'>): string => named(`${pod.direction}-pod`, pod.key);
export const nftPolicyChain = (key: string, d: Direction): string => named(`${d}-policy`, key);
export const nftPeerSet = (key: string, d: Direction, rule: number): string => named(`${d}-peers`, `${key}/${rule}`);
export const podMap = (d: Direction): string => `${d}-pods`;

/** The base chains: [name, hook, the map it looks the pod up in, which address]. */
const BASE: readonly [string, 'forward' | 'input', Direction, 'saddr' | 'daddr'][] = [
  ['egress-forward', 'forward', 'egress', 'saddr'],
  ['egress-input', 'input', 'egress', 'saddr'],
  ['ingress-forward', 'forward', 'ingress', 'daddr'],
];

/** A base chain whose absence says the table was lost. */
export const BASE_CANARY = 'ingress-forward';

/** What the table holds, besides its fixed base chains and maps. */
export interface NftState {
  /** Chain name → its rules, each as `nft add rule` takes it after the chain's name. */
  chains: Map<string, string[]>;
  /** Set name → the addresses in it. */
  sets: Map<string, Set<string>>;
  /** Map name → pod address → the pod chain it jumps to. */
  maps: Map<string, Map<string, string>>;
}

const quote = (text: string): string => `"${text.replace(/["\\]/g, "'")}"`;

function portMatch(p: PortMatch): string {
  const proto = p.protocol.toLowerCase();
  // A named port's pod is the receiver: the destination, whichever direction the policy is for.
  const ip = p.ip ? `ip daddr ${p.ip} ` : '';
  if (p.port === undefined) return `${ip}meta l4proto ${proto}`;
  return `${ip}${proto} dport ${p.endPort ? `${p.port}-${p.endPort}` : p.port}`;
}

function policyRules(pol: PolicyPlan, sets: Map<string, Set<string>>): string[] {
  const peer = pol.direction === 'ingress' ? 'saddr' : 'daddr';
  const lines: string[] = [];
  pol.rules.forEach((rule, i) => {
    const what = `${pol.key} ${pol.direction} rule ${i}`;
    const peers: [string, string][] = [];
    if (rule.peers.all) peers.push(['', what]);
    else {
      // The set exists even when empty, so that a pod gaining the labels later is one element added.
      const set = nftPeerSet(pol.key, pol.direction, i);
      sets.set(set, new Set(rule.peers.ips));
      peers.push([`ip ${peer} @${set} `, `${what}: pod peers`]);
      for (const b of rule.peers.blocks) {
        const except = b.except.length > 0 ? `ip ${peer} != { ${b.except.join(', ')} } ` : '';
        peers.push([`ip ${peer} ${b.cidr} ${except}`, `${what}: ipBlock ${b.cidr}`]);
      }
    }
    for (const [match, why] of peers) {
      if (rule.ports === undefined) lines.push(`${match}accept comment ${quote(why)}`);
      else for (const p of rule.ports) lines.push(`${match}${portMatch(p)} accept comment ${quote(why)}`);
    }
  });
  return lines;
}

/** What the table must hold for `plan`. */
export function nftState(plan: NodePlan): NftState {
  const chains = new Map<string, string[]>();
  const sets = new Map<string, Set<string>>();
  const maps = new Map<string, Map<string, string>>([
    [podMap('egress'), new Map()],
    [podMap('ingress'), new Map()],
  ]);
  for (const pod of plan.pods) {
    const chain = nftPodChain(pod);
    maps.get(podMap(pod.direction))?.set(pod.ip, chain);
    chains.set(chain, [
      ...pod.policies.map((key) => `jump ${nftPolicyChain(key, pod.direction)} comment ${quote(`policy ${key}`)}`),
      `drop comment ${quote(`no policy allows this ${pod.direction} of ${pod.key}`)}`,
    ]);
  }
  for (const pol of plan.policies) chains.set(nftPolicyChain(pol.key, pol.direction), policyRules(pol, sets));
  return { chains, sets, maps };
}

const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort();
const elements = (xs: Iterable<string>): string => `{ ${[...xs].join(', ')} }`;
const addRules = (chain: string, rules: readonly string[]): string[] => rules.map((r) => `add rule ${T} ${chain} ${r}`);
const addSet = (name: string): string => `add set ${T} ${name} { type ipv4_addr; }`;
const addElements = (set: string, xs: readonly string[]): string[] => (xs.length > 0 ? [`add element ${T} ${set} ${elements(xs)}`] : []);
const mapEntries = (m: ReadonlyMap<string, string>, ips: readonly string[]): string => elements(ips.map((ip) => `${ip} : jump ${m.get(ip)}`));

/**
 * The whole table, replaced in one transaction: whatever an earlier run (or someone) left is deleted with it, and
 * there is no moment without rules. Chains and sets are declared before anything refers to them; the base chains
 * come last, so nothing is hooked before what it jumps to is complete.
 */
export function nftFull(s: NftState): string {
  const lines = [`add table ${T}`, `delete table ${T}`, `add table ${T} { comment ${quote('kemu NetworkPolicy agent')}; }`];
  for (const name of sorted(s.sets.keys())) lines.push(addSet(name), ...addElements(name, sorted(s.sets.get(name) ?? [])));
  for (const name of sorted(s.chains.keys())) lines.push(`add chain ${T} ${name}`);
  for (const [name, m] of s.maps)
    lines.push(`add map ${T} ${name} { type ipv4_addr : verdict; }`, ...(m.size > 0 ? [`add element ${T} ${name} ${mapEntries(m, sorted(m.keys()))}`] : []));
  for (const name of sorted(s.chains.keys())) lines.push(...addRules(name, s.chains.get(name) ?? []));
  for (const [name, hook, d, addr] of BASE) {
    lines.push(`add chain ${T} ${name} { type filter hook ${hook} priority filter; policy accept; }`);
    lines.push(`add rule ${T} ${name} ct state established,related accept comment ${quote('replies and established allowed connections')}`);
    lines.push(`add rule ${T} ${name} ip ${addr} vmap @${podMap(d)}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * What turns the table from `prev` (what the last write left) into `next`, in an order the kernel accepts within one
 * transaction: new sets and chains first, element and rule changes, map entries, then the chains and sets no longer
 * needed (flushed before they are deleted, once nothing jumps to them). A pod whose labels change is an element
 * added to or deleted from a peer set; a new policy its own chain and sets and the pod chains that call it.
 * Empty when nothing changed.
 */
export function nftChanges(prev: NftState, next: NftState): string {
  const lines: string[] = [];
  for (const name of sorted(next.sets.keys())) if (!prev.sets.has(name)) lines.push(addSet(name));
  for (const name of sorted(next.chains.keys())) if (!prev.chains.has(name)) lines.push(`add chain ${T} ${name}`);
  for (const [name, want] of next.sets) {
    const had = prev.sets.get(name) ?? new Set<string>();
    const gone = sorted([...had].filter((ip) => !want.has(ip)));
    if (gone.length > 0) lines.push(`delete element ${T} ${name} ${elements(gone)}`);
    lines.push(...addElements(name, sorted([...want].filter((ip) => !had.has(ip)))));
  }
  for (const [name, rules] of next.chains) {
    const had = prev.chains.get(name);
    if (had && had.length === rules.length && had.every((r, i) => r === rules[i])) continue;
    if (had) lines.push(`flush chain ${T} ${name}`);
    lines.push(...addRules(name, rules));
  }
  for (const [name, want] of next.maps) {
    const had = prev.maps.get(name) ?? new Map<string, string>();
    const gone = sorted([...had].filter(([ip, chain]) => want.get(ip) !== chain).map(([ip]) => ip));
    if (gone.length > 0) lines.push(`delete element ${T} ${name} ${elements(gone)}`);
    const added = sorted([...want].filter(([ip, chain]) => had.get(ip) !== chain).map(([ip]) => ip));
    if (added.length > 0) lines.push(`add element ${T} ${name} ${mapEntries(want, added)}`);
  }
  const goneChains = sorted(prev.chains.keys()).filter((c) => !next.chains.has(c));
  lines.push(...goneChains.map((c) => `flush chain ${T} ${c}`), ...goneChains.map((c) => `delete chain ${T} ${c}`));
  for (const name of sorted(prev.sets.keys())) if (!next.sets.has(name)) lines.push(`delete set ${T} ${name}`);
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}
