/**
 * The pure half of the agent: from NetworkPolicies, Pods and Namespaces to what one node must enforce. Peers are
 * resolved here (selectors to pod IPs, named ports to numbers), so rule generation only writes down what this
 * returns. Semantics as in Kubernetes' NetworkPolicy documentation: a pod is isolated for a direction once some
 * policy of that type selects it; an isolated pod takes what the union of those policies' rules allows; a rule
 * without peers allows every peer, a rule without ports every port; in one peer, a namespaceSelector and a
 * podSelector are ANDed; a named port is the destination pod's container port of that name.
 */
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from 'kubernetes-types/networking/v1.js';
import { formatCidr, fromLabelSelector, isCidr, isIPv4, matches, parseIPv4, type LabelSelector } from '@kemu/api';

export type Direction = 'ingress' | 'egress';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** What a rule admits on the far side of the connection: everyone, or these pod IPs and IPv4 blocks. */
export type Peers = { all: true } | { all: false; ips: string[]; blocks: { cidr: string; except: string[] }[] };

/** One port match; `ip` pins it to one destination pod (a named port resolved for that pod). */
export interface PortMatch {
  protocol: Protocol;
  port?: number;
  endPort?: number;
  ip?: string;
}

export interface RulePlan {
  peers: Peers;
  /** undefined: every port of every protocol. */
  ports?: PortMatch[];
}

/** One policy, for one direction, as programmed on this node. */
export interface PolicyPlan {
  /** namespace/name */
  key: string;
  direction: Direction;
  rules: RulePlan[];
}

/** A local pod isolated in one direction, and the policies whose rules decide what it may do. */
export interface PodPlan {
  key: string;
  ip: string;
  direction: Direction;
  /** Keys of PolicyPlans of the same direction, sorted. */
  policies: string[];
}

/** Something in a policy the agent cannot program; it is skipped and reported as an event. */
export interface Problem {
  policy: string;
  message: string;
}

export interface NodePlan {
  pods: PodPlan[];
  policies: PolicyPlan[];
  problems: Problem[];
}

interface PodFacts {
  key: string;
  namespace: string;
  ip: string;
  labels: Record<string, string>;
  node: string;
  ports: { name: string; port: number; protocol: Protocol }[];
}

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const selects = (sel: LabelSelector | undefined, labels: Record<string, string>): boolean => matches(fromLabelSelector(sel ?? {}), labels);

/** Pods that take part in pod networking: an IPv4 pod IP, not host-network, not finished. */
function podFacts(pods: readonly Pod[]): PodFacts[] {
  const out: PodFacts[] = [];
  for (const p of pods) {
    const ip = p.status?.podIP;
    if (!ip || !isIPv4(ip) || p.spec?.hostNetwork || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const ports = (p.spec?.containers ?? []).flatMap((c) =>
      (c.ports ?? []).filter((cp) => cp.name).map((cp) => ({ name: cp.name as string, port: cp.containerPort, protocol: (cp.protocol ?? 'TCP') as Protocol })),
    );
    out.push({ key: keyOf(p), namespace: p.metadata?.namespace ?? '', ip, labels: p.metadata?.labels ?? {}, node: p.spec?.nodeName ?? '', ports });
  }
  return out;
}

/** The policy types a policy isolates (the api-server defaults them; older stored objects may lack them). */
export function policyTypes(np: NetworkPolicy): Direction[] {
  const types = np.spec?.policyTypes;
  if (types && types.length > 0) return types.map((t) => (t === 'Egress' ? 'egress' : 'ingress'));
  return (np.spec?.egress ?? []).length > 0 ? ['ingress', 'egress'] : ['ingress'];
}

interface Ctx {
  pods: PodFacts[];
  nsLabels: Map<string, Record<string, string>>;
  problems: Problem[];
}

function resolvePeers(np: NetworkPolicy, peers: NetworkPolicyPeer[] | undefined, ctx: Ctx, where: string): Peers {
  if (!peers || peers.length === 0) return { all: true };
  const ns = np.metadata?.namespace ?? '';
  const ips = new Set<string>();
  const blocks: { cidr: string; except: string[] }[] = [];
  peers.forEach((peer, j) => {
    if (peer.ipBlock) {
      const cidr: string = peer.ipBlock.cidr;
      const skipped = `${where}[${j}].ipBlock: ${cidr} is not IPv4 (the pod network is IPv4 only); this peer is skipped`;
      if (!isCidr(cidr)) {
        ctx.problems.push({ policy: keyOf(np), message: skipped });
        return;
      }
      // iptables prints a block by its network address; so do the rules, so that iptables-save reads them back alike.
      blocks.push({ cidr: formatCidr(cidr), except: (peer.ipBlock.except ?? []).filter(isCidr).map((e) => formatCidr(e)) });
      return;
    }
    for (const p of ctx.pods) {
      const inNs = peer.namespaceSelector ? selects(peer.namespaceSelector, ctx.nsLabels.get(p.namespace) ?? {}) : p.namespace === ns;
      if (inNs && (!peer.podSelector || selects(peer.podSelector, p.labels))) ips.add(p.ip);
    }
  });
  return { all: false, ips: [...ips].sort(ipOrder), blocks };
}

const ipOrder = (a: string, b: string): number => parseIPv4(a) - parseIPv4(b);

/**
 * The ports of a rule. A named port resolves against the pods on the receiving end: the selected pods for
 * ingress, every pod (narrowed later by the peer match) for egress; a name no pod has matches nothing.
 */
function resolvePorts(ports: NetworkPolicyPort[] | undefined, receivers: PodFacts[]): PortMatch[] | undefined {
  if (!ports || ports.length === 0) return undefined;
  const out: PortMatch[] = [];
  for (const p of ports) {
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    if (p.port === undefined) out.push({ protocol });
    else if (typeof p.port === 'number') out.push({ protocol, port: p.port, ...(p.endPort !== undefined && p.endPort > p.port ? { endPort: p.endPort } : {}) });
    else
      for (const r of receivers) for (const cp of r.ports) if (cp.name === p.port && cp.protocol === protocol) out.push({ protocol, port: cp.port, ip: r.ip });
  }
  return out;
}

/** What `node` enforces: its isolated pods and the policies that apply to them. */
export function planNode(policies: readonly NetworkPolicy[], pods: readonly Pod[], namespaces: readonly Namespace[], node: string): NodePlan {
  const ctx: Ctx = {
    pods: podFacts(pods),
    nsLabels: new Map(namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}])),
    problems: [],
  };
  const local = ctx.pods.filter((p) => p.node === node);
  const byPod = new Map<string, PodPlan>();
  const plans: PolicyPlan[] = [];
  const sorted = [...policies].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  for (const np of sorted) {
    const ns = np.metadata?.namespace ?? '';
    const selected = (pool: PodFacts[]) => pool.filter((p) => p.namespace === ns && selects(np.spec?.podSelector, p.labels));
    const mine = selected(local);
    for (const direction of policyTypes(np)) {
      const key = keyOf(np);
      const rules =
        direction === 'ingress'
          ? (np.spec?.ingress ?? []).map((r, i) => ({ peers: resolvePeers(np, r.from, ctx, `spec.ingress[${i}].from`), ports: resolvePorts(r.ports, mine) }))
          : (np.spec?.egress ?? []).map((r, i) => ({ peers: resolvePeers(np, r.to, ctx, `spec.egress[${i}].to`), ports: resolvePorts(r.ports, ctx.pods) }));
      // Only the nodes that program a policy report what of it they cannot program.
      if (mine.length === 0) {
        ctx.problems = ctx.problems.filter((p) => p.policy !== key);
        continue;
      }
      plans.push({ key, direction, rules: rules.map((r) => (r.ports === undefined ? { peers: r.peers } : { peers: r.peers, ports: r.ports })) });
      for (const p of mine) {
        const k = `${direction}\0${p.key}`;
        const plan = byPod.get(k) ?? { key: p.key, ip: p.ip, direction, policies: [] };
        plan.policies.push(key);
        byPod.set(k, plan);
      }
    }
  }
  const pods2 = [...byPod.values()].sort((a, b) => a.key.localeCompare(b.key) || a.direction.localeCompare(b.direction));
  const seen = new Set<string>();
  const problems = ctx.problems.filter((p) => !seen.has(p.policy + p.message) && seen.add(p.policy + p.message));
  return { pods: pods2, policies: plans, problems };
}
