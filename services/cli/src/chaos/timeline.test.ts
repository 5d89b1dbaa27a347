import { describe, expect, it } from 'vitest';
import { milestones, timelineLines, verdict, type PodView, type Snapshot } from './timeline.js';

const RS = 'ReplicaSet/default/web';
const pod = (uid: string, node: string, o: Partial<PodView> = {}): PodView => ({
  uid,
  name: `default/${uid}`,
  node,
  ready: true,
  deleting: false,
  daemon: false,
  owner: RS,
  ...o,
});
const nodes = (down: Record<string, string> = {}) => ['node-1', 'node-2', 'node-3'].map((name) => ({ name, ready: down[name] ?? 'True' }));
const snap = (t: number, s: Partial<Snapshot>): Snapshot => ({
  t,
  nodes: nodes(),
  pods: [pod('a', 'node-1'), pod('b', 'node-2'), pod('c', 'node-2'), pod('d', 'node-3')],
  endpoints: [{ service: 'default/web', nodes: ['node-1', 'node-2', 'node-2', 'node-3'] }],
  workloads: [{ name: RS, desired: 4 }],
  ...s,
});

/** node-2 killed at 0, as a recorded run saw it. */
const killed: Snapshot[] = [
  snap(0, {}),
  // Its pods still say Ready (nobody told the api-server yet): they do not count.
  snap(500, {}),
  snap(3600, { nodes: nodes({ 'node-2': 'Unknown' }) }),
  snap(4100, {
    nodes: nodes({ 'node-2': 'Unknown' }),
    pods: [pod('a', 'node-1'), pod('b', 'node-2', { ready: false }), pod('c', 'node-2', { ready: false }), pod('d', 'node-3')],
    endpoints: [{ service: 'default/web', nodes: ['node-1', 'node-3'] }],
  }),
  snap(6200, {
    nodes: nodes({ 'node-2': 'Unknown' }),
    pods: [
      pod('a', 'node-1'),
      pod('b', 'node-2', { ready: false, deleting: true }),
      pod('c', 'node-2', { ready: false, deleting: true }),
      pod('d', 'node-3'),
      pod('e', 'node-1', { ready: false }),
      pod('f', 'node-3', { ready: false }),
    ],
    endpoints: [{ service: 'default/web', nodes: ['node-1', 'node-3'] }],
  }),
  snap(8000, {
    nodes: nodes({ 'node-2': 'Unknown' }),
    pods: [
      pod('a', 'node-1'),
      pod('b', 'node-2', { ready: false, deleting: true }),
      pod('c', 'node-2', { ready: false, deleting: true }),
      pod('d', 'node-3'),
      pod('e', 'node-1'),
      pod('f', 'node-3'),
    ],
    endpoints: [{ service: 'default/web', nodes: ['node-1', 'node-3', 'node-1', 'node-3'] }],
  }),
];

describe('recovery timeline', () => {
  it('finds each milestone of a killed node in the first snapshot that shows it', () => {
    expect(milestones(killed, { down: ['node-2'], up: [] })).toEqual({ nodeNotReady: 3600, endpointsUpdated: 4100, podsEvicted: 6200, replicasReady: 8000 });
    expect(verdict(killed, { down: ['node-2'], up: [] })).toEqual({ recovered: true, at: 8000 });
  });

  it('is not recovered while a workload is short, and says what it waits for', () => {
    const v = verdict(killed.slice(0, 5), { down: ['node-2'], up: [] });
    expect(v).toEqual({ recovered: false, waiting: [`${RS} 2/4 ready`] });
  });

  it("does not wait for a workload that was already short before the fault (not the fault's doing)", () => {
    const LOOPING = 'ReplicaSet/other/crashloop';
    const series = killed.map((s) => ({
      ...s,
      workloads: [...s.workloads, { name: LOOPING, desired: 2 }],
      pods: [...s.pods, pod('x', 'node-1', { owner: LOOPING, ready: false }), pod('y', 'node-3', { owner: LOOPING })],
    }));
    expect(verdict(series, { down: ['node-2'], up: [] })).toEqual({ recovered: true, at: 8000 });
    // Whole before the fault, short after: waited for.
    const broken = series.map((s, i) => ({ ...s, pods: s.pods.map((p) => (p.uid === 'x' ? { ...p, ready: i === 0 } : p)) }));
    expect(verdict(broken, { down: ['node-2'], up: [] })).toEqual({ recovered: false, waiting: [`${LOOPING} 1/2 ready`] });
  });

  it('does not count the pods of a node expected down, even before the cluster has noticed', () => {
    expect(milestones(killed.slice(0, 2), { down: ['node-2'], up: [] }).replicasReady).toBeUndefined();
  });

  it('a DaemonSet pod of the dead node is not waited for', () => {
    const series = killed.map((s) => ({ ...s, pods: [...s.pods, pod('ds', 'node-2', { daemon: true, owner: 'DaemonSet/kube-system/x' })] }));
    expect(milestones(series, { down: ['node-2'], up: [] }).podsEvicted).toBe(6200);
  });

  it('a node coming back: Ready again', () => {
    const series = [snap(0, { nodes: nodes({ 'node-2': 'Unknown' }) }), snap(900, { nodes: nodes({ 'node-2': 'Unknown' }) }), snap(1800, {})];
    expect(milestones(series, { down: [], up: ['node-2'] })).toEqual({ nodesReady: 1800, replicasReady: 900 });
    expect(verdict(series, { down: [], up: ['node-2'] })).toEqual({ recovered: true, at: 1800 });
  });

  it('a leader taken away: recovered once another replica holds its Lease', () => {
    const lease = (holder: string) => [{ name: 'kube-scheduler', holder }];
    const e = { down: [], up: [], leader: { lease: 'kube-scheduler', was: 'h_10' } };
    const series = [snap(0, { leases: lease('h_10') }), snap(1000, { leases: lease('h_10') }), snap(2500, { leases: lease('h_11') })];
    expect(milestones(series, e).leaderChanged).toBe(2500);
    expect(verdict(series.slice(0, 2), e)).toEqual({ recovered: false, waiting: ['a new holder of the kube-scheduler Lease'] });
  });

  it('prints the milestones in time order, the probes and the verdict', () => {
    const e = { down: ['node-2'], up: [] };
    const lines = timelineLines(milestones(killed, e), e, [{ service: 'default/web', sent: 200, failed: 9 }], verdict(killed, e));
    expect(lines).toEqual([
      '+3.6s   node-2 NotReady',
      '+4.1s   endpoints updated (no Service sends to node-2)',
      '+6.2s   pods of node-2 evicted',
      '+8.0s   every replica Ready',
      'service default/web: 9 of 200 requests failed (4.5%)',
      'recovered at +8.0s',
    ]);
  });
});
