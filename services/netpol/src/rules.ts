/**
 * iptables rules from a NodePlan: the filter table's input for one `iptables-restore --noflush`. Pure.
 *
 * Layout (read it with `iptables-save -t filter`), as Calico and kube-router name theirs, per pod and per policy:
 *
 *   FORWARD, INPUT → KEMU-NETPOL                       (jumps kept by the agent, first in their chains)
 *   KEMU-NETPOL     ESTABLISHED,RELATED → ACCEPT        (replies, and connections allowed when they began)
 *                   -s podIP → KEMU-NP-E-<pod>           (egress of an isolated local pod)
 *                   -d podIP → KEMU-NP-I-<pod>           (ingress of an isolated local pod)
 *   KEMU-NP-I-<pod> clear the allow mark, → KEMU-NP-PI-<policy> for each policy selecting the pod,
 *                   RETURN when marked, else DROP
 *   KEMU-NP-PI-<policy>  one line per rule × port: → MARK (any peer) or → KEMU-NP-R-<rule> (peers)
 *   KEMU-NP-R-<rule>     -s peerIP → MARK, → KEMU-NP-B-<block> per ipBlock
 *   KEMU-NP-B-<block>    -s except → RETURN, -s cidr → MARK
 *
 * A pod chain returns instead of accepting, so that traffic between two isolated pods of one node is judged
 * twice (the sender's egress, then the receiver's ingress) and kube-proxy's FORWARD rules still see it. Service
 * traffic arrives here after kube-proxy's DNAT (nat PREROUTING), so it is judged against the real backend pod.
 */
import { createHash } from 'node:crypto';
import type { Direction, NodePlan, PodPlan, PolicyPlan, PortMatch, RulePlan } from './model.js';

export const TOP_CHAIN = 'KEMU-NETPOL';
export const CHAIN_PREFIX = 'KEMU-NP-';
/** The bit a policy chain sets for "allowed"; kube-proxy uses 0x4000 (masquerade) and 0x8000 (drop). */
export const ALLOW_MARK = '0x10000';

const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);
export const podChain = (pod: PodPlan): string => `${CHAIN_PREFIX}${pod.direction === 'ingress' ? 'I' : 'E'}-${hash(`${pod.direction}/${pod.key}`)}`;
export const policyChain = (key: string, d: Direction): string => `${CHAIN_PREFIX}P${d === 'ingress' ? 'I' : 'E'}-${hash(`${d}/${key}`)}`;
const ruleChain = (key: string, d: Direction, i: number): string => `${CHAIN_PREFIX}R-${hash(`${d}/${key}/${i}`)}`;
const blockChain = (key: string, d: Direction, i: number, j: number): string => `${CHAIN_PREFIX}B-${hash(`${d}/${key}/${i}/${j}`)}`;

const comment = (text: string): string => `-m comment --comment "${text.replace(/"/g, "'")}"`;
const mark = `-j MARK --set-xmark ${ALLOW_MARK}/${ALLOW_MARK}`;

export interface Ruleset {
  /** The iptables-restore input (filter table only). */
  readonly text: string;
  /** Every KEMU-NP- chain it declares (the next sync deletes those it no longer declares). */
  chains: string[];
  /** Each chain's rules (KEMU-NETPOL's too), for writing only what changed. */
  contents: Map<string, string>;
}

/** A named port's pod is the receiver (the selected pod for ingress, the peer for egress): the destination. */
function portArgs(p: PortMatch): string {
  const proto = p.protocol.toLowerCase();
  const ip = p.ip ? `-d ${p.ip}/32 ` : '';
  const port = p.port === undefined ? '' : ` --dport ${p.endPort ? `${p.port}:${p.endPort}` : p.port}`;
  return `${ip}-p ${proto} -m ${proto}${port}`;
}

function policyLines(pol: PolicyPlan, lines: string[], chains: string[]): void {
  const chain = policyChain(pol.key, pol.direction);
  chains.push(chain);
  const peerFlag = pol.direction === 'ingress' ? '-s' : '-d';
  pol.rules.forEach((rule: RulePlan, i) => {
    const what = `${pol.key} ${pol.direction} rule ${i}`;
    let target = mark;
    if (!rule.peers.all) {
      const rc = ruleChain(pol.key, pol.direction, i);
      chains.push(rc);
      target = `-j ${rc}`;
      for (const ip of rule.peers.ips) lines.push(`-A ${rc} ${peerFlag} ${ip}/32 ${comment(`${what}: pod peer`)} ${mark}`);
      rule.peers.blocks.forEach((b, j) => {
        const bc = blockChain(pol.key, pol.direction, i, j);
        chains.push(bc);
        lines.push(`-A ${rc} ${comment(`${what}: ipBlock ${b.cidr}`)} -j ${bc}`);
        for (const e of b.except) lines.push(`-A ${bc} ${peerFlag} ${e} ${comment(`${what}: except ${e}`)} -j RETURN`);
        lines.push(`-A ${bc} ${peerFlag} ${b.cidr} ${comment(`${what}: ipBlock ${b.cidr}`)} ${mark}`);
      });
    }
    if (rule.ports === undefined) lines.push(`-A ${chain} ${comment(what)} ${target}`);
    else for (const p of rule.ports) lines.push(`-A ${chain} ${portArgs(p)} ${comment(what)} ${target}`);
  });
}

/**
 * The lines and chains of each policy plan already written out. A plan's PolicyPlans are immutable and carried over
 * from plan to plan while they do not change (PlanMemo), so a sync after one policy changed writes out that one only.
 */
const policyRules = new WeakMap<PolicyPlan, { lines: string[]; chains: string[] }>();

/**
 * The whole filter-table state of the agent. `stale` are KEMU-NP- chains the kernel has that this plan no longer
 * needs: flushed and deleted in the same transaction.
 */
export function buildRules(plan: NodePlan, stale: Iterable<string> = []): Ruleset {
  const chains: string[] = [];
  const body: string[] = [];
  // Each chain's lines, kept as they are written (the agent compares them with what it wrote last).
  const byChain = new Map<string, string[]>([[TOP_CHAIN, []]]);
  const add = (line: string): void => {
    body.push(line);
    const chain = line.slice(3, line.indexOf(' ', 3));
    const lines = byChain.get(chain);
    if (lines) lines.push(line);
    else byChain.set(chain, [line]);
  };
  add(`-A ${TOP_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED ${comment('replies and established allowed connections')} -j ACCEPT`);
  // Egress first: on one node the sender's egress is judged before the receiver's ingress.
  const order = [...plan.pods.filter((p) => p.direction === 'egress'), ...plan.pods.filter((p) => p.direction === 'ingress')];
  for (const pod of order) {
    const pc = podChain(pod);
    chains.push(pc);
    const flag = pod.direction === 'egress' ? '-s' : '-d';
    add(`-A ${TOP_CHAIN} ${flag} ${pod.ip}/32 ${comment(`${pod.direction} of ${pod.key}`)} -j ${pc}`);
  }
  // Many pods call the same policies: each policy chain's name (a hash) is worked out once.
  const policyChains = new Map(plan.policies.map((pol) => [`${pol.direction}/${pol.key}`, policyChain(pol.key, pol.direction)]));
  for (const pod of order) {
    const pc = podChain(pod);
    add(`-A ${pc} -j MARK --set-xmark 0x0/${ALLOW_MARK}`);
    for (const key of pod.policies)
      add(`-A ${pc} ${comment(`policy ${key}`)} -j ${policyChains.get(`${pod.direction}/${key}`) ?? policyChain(key, pod.direction)}`);
    add(`-A ${pc} -m mark --mark ${ALLOW_MARK}/${ALLOW_MARK} -j RETURN`);
    add(`-A ${pc} ${comment(`no policy allows this ${pod.direction} of ${pod.key}`)} -j DROP`);
  }
  for (const pol of plan.policies) {
    let written = policyRules.get(pol);
    if (!written) {
      written = { lines: [], chains: [] };
      policyLines(pol, written.lines, written.chains);
      policyRules.set(pol, written);
    }
    chains.push(...written.chains);
    written.lines.forEach(add);
  }
  const contents = new Map<string, string>([TOP_CHAIN, ...chains].map((c) => [c, byChain.get(c)?.join('\n') ?? '']));
  return {
    // Only a full sync needs the whole text: made when asked for.
    get text() {
      const declared = new Set(chains);
      const gone = [...new Set(stale)].filter((c) => !declared.has(c) && c.startsWith(CHAIN_PREFIX)).sort();
      return [
        '*filter',
        `:${TOP_CHAIN} - [0:0]`,
        ...chains.map((c) => `:${c} - [0:0]`),
        ...gone.map((c) => `:${c} - [0:0]`),
        ...body,
        ...gone.map((c) => `-X ${c}`),
        'COMMIT',
        '',
      ].join('\n');
    },
    chains,
    contents,
  };
}

/**
 * The restore input for what changed since `written` (each chain the kernel holds from us, with its rules): chains
 * new or different are declared (which flushes them) and refilled, chains gone are flushed and deleted, the rest is
 * not mentioned and so left as it is. A new policy rewrites its own chains and the pod chains that call it, not the
 * whole table; empty when nothing changed.
 */
export function changedRules(next: Ruleset, written: ReadonlyMap<string, string>): string {
  const changed = [...next.contents].filter(([c, rules]) => written.get(c) !== rules);
  const gone = [...written.keys()].filter((c) => !next.contents.has(c) && c.startsWith(CHAIN_PREFIX)).sort();
  if (changed.length === 0 && gone.length === 0) return '';
  return [
    '*filter',
    ...changed.map(([c]) => `:${c} - [0:0]`),
    ...gone.map((c) => `:${c} - [0:0]`),
    ...changed.map(([, rules]) => rules).filter(Boolean),
    ...gone.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}

/** The KEMU-NP- chains in `iptables-save -t filter` output (what an earlier run of the agent left). */
export function ownChains(save: string): string[] {
  return [...save.matchAll(/^:(KEMU-NP-\S+) /gm)].map((m) => m[1]);
}
