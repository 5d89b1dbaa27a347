/**
 * The recovery timeline of `kemu chaos ... --watch`, decided from what was
 * seen: a series of snapshots of the cluster (nodes, pods, Service endpoints,
 * workloads) taken while it heals, each stamped with the milliseconds since the
 * fault. Pure, so a recorded series is a test case.
 */

/** A node as the timeline needs it. */
export interface NodeView {
  name: string;
  /** The Ready condition's status: True, False or Unknown (absent: Unknown). */
  ready: string;
}

/** A pod as the timeline needs it. */
export interface PodView {
  uid: string;
  /** namespace/name */
  name: string;
  node?: string;
  ready: boolean;
  deleting: boolean;
  /** A DaemonSet's pods stay with their node: not replaced elsewhere. */
  daemon: boolean;
  /** The workload that owns it, as WorkloadView names it (ReplicaSet/ns/name). */
  owner?: string;
}

/** The ready endpoint addresses of one Service, with the node of each. */
export interface EndpointsView {
  /** namespace/name */
  service: string;
  nodes: string[];
}

/** A workload that keeps a number of replicas (a ReplicaSet). */
export interface WorkloadView {
  /** kind/namespace/name */
  name: string;
  desired: number;
}

export interface Snapshot {
  /** Milliseconds since the fault. */
  t: number;
  nodes: NodeView[];
  pods: PodView[];
  endpoints: EndpointsView[];
  workloads: WorkloadView[];
  /** The leader election Leases of kube-system: name and holder. */
  leases?: { name: string; holder: string }[];
}

/** What the fault is expected to leave: the nodes that should end up down (killed, stopped, paused, cut off) or up again. */
export interface Expectation {
  down: string[];
  up: string[];
  /** A leader taken away: its Lease must pass to another holder. */
  leader?: { lease: string; was: string };
}

/** The moments of the recovery, in ms since the fault; absent: not (yet) seen. */
export interface Milestones {
  /** Every node expected down is NotReady (Unknown or False). */
  nodeNotReady?: number;
  /** No Service sends to a pod on a node expected down any more (absent when none did). */
  endpointsUpdated?: number;
  /** Every pod of a down node (but a DaemonSet's) is being deleted or gone. */
  podsEvicted?: number;
  /** Every workload that was whole before the fault has all its replicas ready, none of them on a node expected down. */
  replicasReady?: number;
  /** Every node expected up is Ready. */
  nodesReady?: number;
  /** Another replica holds the Lease of the leader taken away. */
  leaderChanged?: number;
}

export type Verdict = { recovered: true; at: number } | { recovered: false; waiting: string[] };

const isDown = (n: NodeView | undefined) => !n || n.ready !== 'True';

/**
 * A workload's replicas that count: Ready, not being deleted, and not on a node expected down (a pod there may
 * still say Ready, as nobody has told the api-server otherwise yet, but it serves no one). Pure.
 */
export function readyReplicas(w: WorkloadView, s: Snapshot, down: ReadonlySet<string>): number {
  return s.pods.filter((p) => p.owner === w.name && p.ready && !p.deleting && !(p.node && down.has(p.node))).length;
}

/**
 * The workloads already short of replicas before the fault (the first snapshot): a crash-looping pod, a rollout
 * under way, a pod that fits nowhere. Their state is not the fault's doing, so recovery does not wait for them. Pure.
 */
function shortBefore(series: Snapshot[]): Set<string> {
  const first = series[0];
  return new Set(first ? first.workloads.filter((w) => readyReplicas(w, first, new Set()) < w.desired).map((w) => w.name) : []);
}

/** The workloads short of replicas in `s` (but those in `ignored`), as "ReplicaSet/ns/name 1/2 ready". Pure. */
function shortOf(s: Snapshot, down: ReadonlySet<string>, ignored: ReadonlySet<string> = new Set()): string[] {
  return s.workloads.flatMap((w) => {
    if (ignored.has(w.name)) return [];
    const ready = readyReplicas(w, s, down);
    return ready < w.desired ? [`${w.name} ${ready}/${w.desired} ready`] : [];
  });
}
/**
 * Fold the snapshots into milestones. Each milestone is the first snapshot after the fault (the first one, at 0, is
 * the cluster before it) where its condition holds.
 */
export function milestones(series: Snapshot[], e: Expectation): Milestones {
  const m: Milestones = {};
  const first = series[0];
  if (!first) return m;
  const down = new Set(e.down);
  const victims = first.pods.filter((p) => p.node && down.has(p.node) && !p.daemon).map((p) => p.uid);
  const servedFromDown = first.endpoints.some((ep) => ep.nodes.some((n) => down.has(n)));
  const ignored = shortBefore(series);
  for (const s of series) {
    const node = (name: string) => s.nodes.find((n) => n.name === name);
    if (m.nodeNotReady === undefined && e.down.length && e.down.every((n) => isDown(node(n)))) m.nodeNotReady = s.t;
    if (m.endpointsUpdated === undefined && servedFromDown && s.endpoints.every((ep) => !ep.nodes.some((n) => down.has(n)))) m.endpointsUpdated = s.t;
    if (m.podsEvicted === undefined && victims.length && victims.every((uid) => s.pods.find((p) => p.uid === uid)?.deleting ?? true)) m.podsEvicted = s.t;
    if (m.nodesReady === undefined && e.up.length && e.up.every((n) => !isDown(node(n)))) m.nodesReady = s.t;
    const holder = e.leader && s.leases?.find((l) => l.name === e.leader?.lease)?.holder;
    if (m.leaderChanged === undefined && holder && holder !== e.leader?.was) m.leaderChanged = s.t;
    if (m.replicasReady === undefined && s.t > 0 && !shortOf(s, down, ignored).length) m.replicasReady = s.t;
  }
  return m;
}

/** Recovered when every milestone the fault calls for has been seen; else what is still awaited. Pure. */
export function verdict(series: Snapshot[], e: Expectation): Verdict {
  const m = milestones(series, e);
  const last = series.at(-1);
  const down = new Set(e.down);
  const waiting: string[] = [];
  if (e.down.length && m.nodeNotReady === undefined) waiting.push(`${e.down.join(', ')} NotReady`);
  if (e.up.length && m.nodesReady === undefined) waiting.push(`${e.up.join(', ')} Ready`);
  if (e.leader && m.leaderChanged === undefined) waiting.push(`a new holder of the ${e.leader.lease} Lease`);
  const first = series[0];
  if (first?.endpoints.some((ep) => ep.nodes.some((n) => down.has(n))) && m.endpointsUpdated === undefined) waiting.push('endpoints updated');
  // Replicas count as recovered only as the last snapshot has them: a workload may have lost them again since.
  const short = last ? shortOf(last, down, shortBefore(series)) : [];
  if (m.replicasReady === undefined || short.length) waiting.push(...(short.length ? short : ['replicas ready']));
  if (waiting.length) return { recovered: false, waiting };
  const at = Math.max(...[m.nodeNotReady, m.nodesReady, m.endpointsUpdated, m.replicasReady, m.leaderChanged].filter((x): x is number => x !== undefined), 0);
  return { recovered: true, at };
}

/** Requests a probe made to one Service and how many failed. */
export interface ProbeCount {
  service: string;
  sent: number;
  failed: number;
}

/** The timeline as lines: "+3.1s  node-2 NotReady". Pure. */
export function timelineLines(m: Milestones, e: Expectation, probes: ProbeCount[], v: Verdict): string[] {
  const at = (ms: number) => `+${(ms / 1000).toFixed(1)}s`.padEnd(8);
  const rows: [number, string][] = [];
  if (m.nodeNotReady !== undefined) rows.push([m.nodeNotReady, `${e.down.join(', ')} NotReady`]);
  if (m.endpointsUpdated !== undefined) rows.push([m.endpointsUpdated, `endpoints updated (no Service sends to ${e.down.join(', ')})`]);
  if (m.podsEvicted !== undefined) rows.push([m.podsEvicted, `pods of ${e.down.join(', ')} evicted`]);
  if (m.nodesReady !== undefined) rows.push([m.nodesReady, `${e.up.join(', ')} Ready`]);
  if (m.replicasReady !== undefined) rows.push([m.replicasReady, 'every replica Ready']);
  if (m.leaderChanged !== undefined && e.leader) rows.push([m.leaderChanged, `${e.leader.lease}: a new leader`]);
  const lines = rows.sort((a, b) => a[0] - b[0]).map(([t, what]) => `${at(t)}${what}`);
  for (const p of probes) lines.push(`service ${p.service}: ${p.failed} of ${p.sent} requests failed (${percent(p)})`);
  lines.push(v.recovered ? `recovered at +${(v.at / 1000).toFixed(1)}s` : `not recovered; waiting for: ${v.waiting.join('; ')}`);
  return lines;
}

/** The failed share as a percentage with one decimal. Pure. */
export function percent(p: ProbeCount): string {
  return `${p.sent ? ((100 * p.failed) / p.sent).toFixed(1) : '0.0'}%`;
}
