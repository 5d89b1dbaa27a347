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
  /** The address as a number, for sorting. */
  n: number;
  labels: Record<string, string>;
  node: string;
  ports: { name: string; port: number; protocol: Protocol }[];
}

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** A selector compiled once, for matching many pods. */
const selector = (sel: LabelSelector | undefined): ((labels: Record<string, string>) => boolean) => {
  const compiled = fromLabelSelector(sel ?? {});
  return (labels) => matches(compiled, labels);
};

/** Pods that take part in pod networking: an IPv4 pod IP, not host-network, not finished. */
function podFacts(pods: readonly Pod[]): PodFacts[] {
  const out: PodFacts[] = [];
  for (const p of pods) {
    const ip = p.status?.podIP;
    if (!ip || !isIPv4(ip) || p.spec?.hostNetwork || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const ports = (p.spec?.containers ?? []).flatMap((c) =>
      (c.ports ?? []).filter((cp) => cp.name).map((cp) => ({ name: cp.name as string, port: cp.containerPort, protocol: (cp.protocol ?? 'TCP') as Protocol })),
    );
    out.push({
      key: keyOf(p),
      namespace: p.metadata?.namespace ?? '',
      ip,
      n: parseIPv4(ip),
      labels: p.metadata?.labels ?? {},
      node: p.spec?.nodeName ?? '',
      ports,
    });
  }
  return out;
}

/** The policy types a policy isolates (the api-server defaults them; older stored objects may lack them). */
export function policyTypes(np: NetworkPolicy): Direction[] {
  const types = np.spec?.policyTypes;
  if (types && types.length > 0) return types.map((t) => (t === 'Egress' ? 'egress' : 'ingress'));
  return (np.spec?.egress ?? []).length > 0 ? ['ingress', 'egress'] : ['ingress'];
}

/** The pods and namespaces as the plan reads them, and what it found out from them. */
interface Ctx {
  pods: PodFacts[];
  /** The pods of this node. */
  local: PodFacts[];
  /** The pods of each namespace. */
  byNamespace: Map<string, PodFacts[]>;
  nsLabels: Map<string, Record<string, string>>;
  /**
   * The pods a peer (namespace of its policy + the peer) selects, found once: policies that name the same peers (a
   * default-deny and its allow rules, one client group allowed into many servers) share the work.
   */
  peerPods: Map<string, PodFacts[]>;
}

/** One policy as this node programs it: its plans (one per direction), the local pods it selects, its problems. */
interface PolicyOutcome {
  plans: PolicyPlan[];
  mine: PodFacts[];
  problems: Problem[];
}

/**
 * What planNode may keep from one plan to the next while the pods and namespaces it was made from stay the same: their
 * facts, resolved peers, and each policy's outcome (keyed by the policy object, which an informer replaces on every
 * change). The caller makes a new one whenever a pod or namespace changes; a plan after a policy change then works
 * out that policy alone.
 */
export class PlanMemo {
  /** @internal */ ctx: Ctx | undefined;
  /** @internal */ readonly policies = new WeakMap<NetworkPolicy, PolicyOutcome>();
}

function context(pods: readonly Pod[], namespaces: readonly Namespace[], node: string): Ctx {
  const all = podFacts(pods);
  const byNamespace = new Map<string, PodFacts[]>();
  for (const p of all) {
    const list = byNamespace.get(p.namespace);
    if (list) list.push(p);
    else byNamespace.set(p.namespace, [p]);
  }
  return {
    pods: all,
    local: all.filter((p) => p.node === node),
    byNamespace,
    nsLabels: new Map(namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}])),
    peerPods: new Map(),
  };
}

/** The pods one (non-ipBlock) peer of a policy in namespace `ns` selects. */
function peerPods(peer: NetworkPolicyPeer, ns: string, ctx: Ctx): PodFacts[] {
  const key = `${ns}\0${JSON.stringify(peer)}`;
  const known = ctx.peerPods.get(key);
  if (known) return known;
  const podSel = peer.podSelector ? selector(peer.podSelector) : () => true;
  let pool: PodFacts[];
  if (peer.namespaceSelector) {
    const nsSel = selector(peer.namespaceSelector);
    pool = [...ctx.byNamespace].filter(([name]) => nsSel(ctx.nsLabels.get(name) ?? {})).flatMap(([, pods]) => pods);
  } else pool = ctx.byNamespace.get(ns) ?? [];
  const found = pool.filter((p) => podSel(p.labels));
  ctx.peerPods.set(key, found);
  return found;
}

function resolvePeers(np: NetworkPolicy, peers: NetworkPolicyPeer[] | undefined, ctx: Ctx, where: string, problems: Problem[]): Peers {
  if (!peers || peers.length === 0) return { all: true };
  const ns = np.metadata?.namespace ?? '';
  const ips = new Map<string, number>();
  const blocks: { cidr: string; except: string[] }[] = [];
  peers.forEach((peer, j) => {
    if (peer.ipBlock) {
      const cidr: string = peer.ipBlock.cidr;
      const skipped = `${where}[${j}].ipBlock: ${cidr} is not IPv4 (the pod network is IPv4 only); this peer is skipped`;
      if (!isCidr(cidr)) {
        problems.push({ policy: keyOf(np), message: skipped });
        return;
      }
      // iptables prints a block by its network address; so do the rules, so that iptables-save reads them back alike.
      blocks.push({ cidr: formatCidr(cidr), except: (peer.ipBlock.except ?? []).filter(isCidr).map((e) => formatCidr(e)) });
      return;
    }
    for (const p of peerPods(peer, ns, ctx)) ips.set(p.ip, p.n);
  });
  return { all: false, ips: [...ips].sort((a, b) => a[1] - b[1]).map(([ip]) => ip), blocks };
}

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

/** One policy on this node. Only the nodes that program a policy (it selects local pods) report what of it they cannot. */
function planPolicy(np: NetworkPolicy, ctx: Ctx): PolicyOutcome {
  const ns = np.metadata?.namespace ?? '';
  const key = keyOf(np);
  const sel = selector(np.spec?.podSelector);
  const mine = ctx.local.filter((p) => p.namespace === ns && sel(p.labels));
  if (mine.length === 0) return { plans: [], mine, problems: [] };
  const problems: Problem[] = [];
  const plans = policyTypes(np).map((direction): PolicyPlan => {
    const rules =
      direction === 'ingress'
        ? (np.spec?.ingress ?? []).map((r, i) => ({
            peers: resolvePeers(np, r.from, ctx, `spec.ingress[${i}].from`, problems),
            ports: resolvePorts(r.ports, mine),
          }))
        : (np.spec?.egress ?? []).map((r, i) => ({
            peers: resolvePeers(np, r.to, ctx, `spec.egress[${i}].to`, problems),
            ports: resolvePorts(r.ports, ctx.pods),
          }));
    return { key, direction, rules: rules.map((r) => (r.ports === undefined ? { peers: r.peers } : { peers: r.peers, ports: r.ports })) };
  });
  return { plans, mine, problems };
}

/**
 * What `node` enforces: its isolated pods and the policies that apply to them. `memo` carries work over from the last
 * plan made from the same pods and namespaces (see PlanMemo).
 */
export function planNode(
  policies: readonly NetworkPolicy[],
  pods: readonly Pod[],
  namespaces: readonly Namespace[],
  node: string,
  memo: PlanMemo = new PlanMemo(),
): NodePlan {
  const ctx = (memo.ctx ??= context(pods, namespaces, node));
  const byPod = new Map<string, PodPlan>();
  const plans: PolicyPlan[] = [];
  const problems: Problem[] = [];
  const sorted = [...policies].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  for (const np of sorted) {
    let out = memo.policies.get(np);
    if (!out) memo.policies.set(np, (out = planPolicy(np, ctx)));
    problems.push(...out.problems);
    for (const plan of out.plans) {
      plans.push(plan);
      for (const p of out.mine) {
        const k = `${plan.direction}\0${p.key}`;
        const pod = byPod.get(k) ?? { key: p.key, ip: p.ip, direction: plan.direction, policies: [] };
        pod.policies.push(plan.key);
        byPod.set(k, pod);
      }
    }
  }
  const pods2 = [...byPod.values()].sort((a, b) => a.key.localeCompare(b.key) || a.direction.localeCompare(b.direction));
  const seen = new Set<string>();
  return { pods: pods2, policies: plans, problems: problems.filter((p) => !seen.has(p.policy + p.message) && seen.add(p.policy + p.message)) };
}
