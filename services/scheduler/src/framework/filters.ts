/**
 * Filters: can this pod run on this node? Each returns undefined (fits) or
 * the reason in the scheduler's own words, which FailedScheduling events
 * count per reason: `0/3 nodes are available: 1 node(s) had untolerated
 * taint {...}, 2 Insufficient cpu.` Pure.
 */
import { fromLabelSelector, matches, tolerates } from '@kemu/api';
import type { Node, NodeSelectorTerm, Pod, Taint, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { cachedRequests, podHostPorts, type NodeInfo } from './node-info.js';

export type Filter = (pod: Pod, node: NodeInfo, all: NodeInfo[]) => string[] | undefined;

/** Taints the node lifecycle controller would put on a node that is not Ready. */
export function effectiveTaints(node: Node): Taint[] {
  const taints: Taint[] = [...(node.spec?.taints ?? [])];
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    const key = ready?.status === 'False' ? 'node.kubernetes.io/not-ready' : 'node.kubernetes.io/unreachable';
    if (!taints.some((t) => t.key === key)) taints.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable && !taints.some((t) => t.key === 'node.kubernetes.io/unschedulable'))
    taints.push({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' });
  return taints;
}

// Nodes in the cache are frozen and replaced on change, so a node's readiness is worked out once.
const readiness = new WeakMap<Node, boolean>();
function isReady(node: Node): boolean {
  const known = readiness.get(node);
  if (known !== undefined) return known;
  const r = (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  readiness.set(node, r);
  return r;
}

export const nodeUnschedulable: Filter = (pod, n) => {
  if (!n.node.spec?.unschedulable) return undefined;
  const tol = pod.spec?.tolerations ?? [];
  return tolerates(tol, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }) ? undefined : ['node(s) were unschedulable'];
};

export const taintToleration: Filter = (pod, n) => {
  if (!n.node.spec?.taints?.length && !n.node.spec?.unschedulable && isReady(n.node)) return undefined;
  const tol = pod.spec?.tolerations ?? [];
  for (const t of effectiveTaints(n.node)) {
    if (t.key === 'node.kubernetes.io/unschedulable') continue; // nodeUnschedulable says it
    if ((t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(tol, t)) return [`node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`];
  }
  return undefined;
};

export const nodeResourcesFit: Filter = (pod, n) => {
  const req = cachedRequests(pod);
  const alloc = n.allocatable;
  const pods = n.requested.pods + 1 > alloc.pods;
  const cpu = req.cpu > 0 && n.requested.cpu + req.cpu > alloc.cpu;
  const memory = req.memory > 0 && n.requested.memory + req.memory > alloc.memory;
  if (!pods && !cpu && !memory) return undefined; // the common case allocates nothing
  const out: string[] = [];
  if (pods) out.push('Too many pods');
  if (cpu) out.push('Insufficient cpu');
  if (memory) out.push('Insufficient memory');
  return out;
};

function nodeSelectorTermMatches(term: NodeSelectorTerm, labels: Record<string, string>): boolean {
  return (term.matchExpressions ?? []).every((e) => {
    const v = labels[e.key];
    switch (e.operator) {
      case 'In':
        return v !== undefined && (e.values ?? []).includes(v);
      case 'NotIn':
        return v === undefined || !(e.values ?? []).includes(v);
      case 'Exists':
        return v !== undefined;
      case 'DoesNotExist':
        return v === undefined;
      case 'Gt':
        return v !== undefined && Number(v) > Number(e.values?.[0]);
      case 'Lt':
        return v !== undefined && Number(v) < Number(e.values?.[0]);
      default:
        return false;
    }
  });
}

const requiredTerms = (pod: Pod): NodeSelectorTerm[] | undefined => {
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return Array.isArray(terms) && terms.length ? terms : undefined;
};

export const nodeAffinity: Filter = (pod, n) => {
  const labels = n.node.metadata?.labels ?? {};
  const sel = pod.spec?.nodeSelector ?? {};
  const fail = () => ["node(s) didn't match Pod's node affinity/selector"];
  for (const k in sel) if (labels[k] !== sel[k]) return fail();
  const terms = requiredTerms(pod);
  if (terms && !terms.some((t) => nodeSelectorTermMatches(t, labels))) return fail();
  return undefined;
};

export const nodePorts: Filter = (pod, n) => {
  if (!n.ports.size) return undefined;
  for (const p of podHostPorts(pod)) {
    const [ip, proto, port] = p.split('/');
    const clash = [...n.ports].some((u) => {
      const [uip, uproto, uport] = u.split('/');
      return uproto === proto && uport === port && (ip === '0.0.0.0' || uip === '0.0.0.0' || uip === ip);
    });
    if (clash) return ["node(s) didn't have free ports for the requested pod ports"];
  }
  return undefined;
};

/** Required pod anti-affinity with topologyKey kubernetes.io/hostname (and other node labels). */
export const podAntiAffinity: Filter = (pod, n, all) => {
  const terms = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  for (const term of terms) {
    const sel = fromLabelSelector(term.labelSelector ?? {});
    const key = term.topologyKey ?? 'kubernetes.io/hostname';
    const domain = n.node.metadata?.labels?.[key];
    if (domain === undefined) continue;
    const namespaces = term.namespaces?.length ? term.namespaces : [pod.metadata?.namespace];
    for (const other of all) {
      if (other.node.metadata?.labels?.[key] !== domain) continue;
      for (const p of other.pods.values()) {
        if (namespaces.includes(p.metadata?.namespace) && matches(sel, p.metadata?.labels)) return ["node(s) didn't match pod anti-affinity rules"];
      }
    }
  }
  return undefined;
};

/** Topology spread constraints with whenUnsatisfiable DoNotSchedule. */
export const podTopologySpread: Filter = (pod, n, all) => {
  for (const c of pod.spec?.topologySpreadConstraints ?? []) {
    if ((c.whenUnsatisfiable ?? 'DoNotSchedule') !== 'DoNotSchedule') continue;
    const domain = n.node.metadata?.labels?.[c.topologyKey];
    if (domain === undefined) return ["node(s) didn't match pod topology spread constraints (missing required label)"];
    const counts = spreadCounts(pod, c, all);
    const min = Math.min(...counts.values());
    if ((counts.get(domain) ?? 0) + 1 - min > (c.maxSkew ?? 1)) return ["node(s) didn't match pod topology spread constraints"];
  }
  return undefined;
};

/** Matching pods per topology domain, over the nodes that have the key. */
export function spreadCounts(pod: Pod, c: TopologySpreadConstraint, all: NodeInfo[]): Map<string, number> {
  const sel = fromLabelSelector(c.labelSelector ?? {});
  const counts = new Map<string, number>();
  for (const info of all) {
    const d = info.node.metadata?.labels?.[c.topologyKey];
    if (d === undefined) continue;
    let n = counts.get(d) ?? 0;
    for (const p of info.pods.values()) if (p.metadata?.namespace === pod.metadata?.namespace && matches(sel, p.metadata?.labels)) n++;
    counts.set(d, n);
  }
  return counts;
}

export const FILTERS: Filter[] = [nodeUnschedulable, taintToleration, nodeAffinity, nodePorts, nodeResourcesFit, podAntiAffinity, podTopologySpread];

/**
 * The filters that can reject this pod, in FILTERS' order (kube-scheduler's PreFilter "Skip"): one that would pass
 * every node for it — no node selector or affinity, no host ports, no anti-affinity, no DoNotSchedule spread — is
 * not run 1,000 times per pod.
 */
export function filtersFor(pod: Pod): Filter[] {
  const spec = pod.spec;
  const skip = new Set<Filter>();
  if (!Object.keys(spec?.nodeSelector ?? {}).length && !requiredTerms(pod)) skip.add(nodeAffinity);
  if (!podHostPorts(pod).length) skip.add(nodePorts);
  if (!(spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).length) skip.add(podAntiAffinity);
  if (!(spec?.topologySpreadConstraints ?? []).some((c) => (c.whenUnsatisfiable ?? 'DoNotSchedule') === 'DoNotSchedule')) skip.add(podTopologySpread);
  return FILTERS.filter((f) => !skip.has(f));
}

/** Kubernetes' FitError text. */
export function fitErrorMessage(total: number, reasons: Map<string, number>): string {
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${total} nodes are available: ${parts.join(', ')}.`;
}
