import { describe, expect, it } from 'vitest';
import type { Pod, PodSpec, Taint, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { addPod, newNodeInfo, type NodeInfo } from './node-info.js';
import {
  filtersFor,
  fitErrorMessage,
  nodeAffinity,
  nodePorts,
  nodeResourcesFit,
  nodeUnschedulable,
  podAntiAffinity,
  podTopologySpread,
  taintToleration,
} from './filters.js';
import { leastAllocated, selectorSpread, topologySpreadScore } from './scores.js';
import { parseSelector } from '@kemu/api';

const node = (
  name: string,
  o: { cpu?: string; mem?: string; pods?: string; labels?: Record<string, string>; taints?: Taint[]; ready?: boolean; unschedulable?: boolean } = {},
): NodeInfo =>
  newNodeInfo({
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: {
      allocatable: { cpu: o.cpu ?? '2', memory: o.mem ?? '4Gi', pods: o.pods ?? '110' },
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  });
const pod = (name: string, spec: Partial<PodSpec> = {}, labels: Record<string, string> = {}): Pod => ({
  metadata: { name, namespace: 'ns', labels },
  spec: { containers: [{ name: 'c', image: 'x' }], ...spec },
});
const withRequests = (cpu?: string, memory?: string) => ({
  containers: [{ name: 'c', image: 'x', resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } } }],
});

describe('filters', () => {
  it('skips, per pod, only the filters that would pass every node', () => {
    expect(filtersFor(pod('plain'))).toEqual([nodeUnschedulable, taintToleration, nodeResourcesFit]);
    expect(filtersFor(pod('sel', { nodeSelector: { disk: 'ssd' } }))).toContain(nodeAffinity);
    expect(filtersFor(pod('ports', { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }] }))).toContain(nodePorts);
    expect(
      filtersFor(
        pod('anti', {
          affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: {} }] } },
        }),
      ),
    ).toContain(podAntiAffinity);
    expect(filtersFor(pod('soft', { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' }] }))).not.toContain(
      podTopologySpread,
    );
    expect(filtersFor(pod('hard', { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone' } as TopologySpreadConstraint] }))).toContain(
      podTopologySpread,
    ); // whenUnsatisfiable left out, as a client may
  });
  it.each([
    ['fits', '500m', undefined, undefined],
    ['too much cpu', '3', undefined, ['Insufficient cpu']],
    ['too much memory', undefined, '5Gi', ['Insufficient memory']],
    ['both', '3', '5Gi', ['Insufficient cpu', 'Insufficient memory']],
  ])('resources: %s', (_n, cpu, mem, want) => {
    expect(nodeResourcesFit(pod('p', withRequests(cpu, mem)), node('n'), [])).toEqual(want);
  });
  it('resources: counts pods already there', () => {
    const n = node('n', { cpu: '1', pods: '1' });
    addPod(n, 'ns/a', pod('a', withRequests('800m')));
    expect(nodeResourcesFit(pod('b', withRequests('300m')), n, [])).toEqual(['Too many pods', 'Insufficient cpu']);
  });
  it('resources: sums millicores as Kubernetes does, each request rounded up to 1m', () => {
    const n = node('n', { cpu: '2m' });
    addPod(n, 'ns/a', pod('a', withRequests('1n')));
    addPod(n, 'ns/b', pod('b', withRequests('1n')));
    expect(nodeResourcesFit(pod('c', withRequests('1n')), n, [])).toEqual(['Insufficient cpu']);
  });
  it('resources: a node filled exactly still fits the last pod', () => {
    const n = node('n', { cpu: '1', mem: '1Gi' });
    for (let i = 0; i < 7; i++) addPod(n, `ns/p${i}`, pod(`p${i}`, withRequests('0.1', '100Mi')));
    expect(n.requested).toEqual({ cpu: 700, memory: 700 * 2 ** 20, pods: 7 });
    expect(nodeResourcesFit(pod('last', withRequests('300m', '324Mi')), n, [])).toBeUndefined();
    expect(nodeResourcesFit(pod('over', withRequests('301m')), n, [])).toEqual(['Insufficient cpu']);
  });
  it.each([
    ['no taint', [], [], undefined],
    ['untolerated NoSchedule', [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }], [], ['node(s) had untolerated taint {gpu: yes}']],
    [
      'tolerated by key+value',
      [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }],
      [{ key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoSchedule' }],
      undefined,
    ],
    ['tolerated by Exists', [{ key: 'gpu', effect: 'NoSchedule' }], [{ key: 'gpu', operator: 'Exists' }], undefined],
    ['PreferNoSchedule does not filter', [{ key: 'x', effect: 'PreferNoSchedule' }], [], undefined],
    ['NoExecute filters', [{ key: 'x', effect: 'NoExecute' }], [], ['node(s) had untolerated taint {x: }']],
  ])('taints: %s', (_n, taints, tolerations, want) => {
    expect(taintToleration(pod('p', { tolerations }), node('n', { taints }), [])).toEqual(want);
  });
  it('a node that is not Ready carries the not-ready taint', () => {
    expect(taintToleration(pod('p'), node('n', { ready: false }), [])).toEqual(['node(s) had untolerated taint {node.kubernetes.io/not-ready: }']);
  });
  it('cordoned nodes are unschedulable', () => {
    expect(nodeUnschedulable(pod('p'), node('n', { unschedulable: true }), [])).toEqual(['node(s) were unschedulable']);
    expect(
      nodeUnschedulable(
        pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }),
        node('n', { unschedulable: true }),
        [],
      ),
    ).toBeUndefined();
  });
  it.each([
    ['nodeSelector matches', { nodeSelector: { disk: 'ssd' } }, undefined],
    ['nodeSelector misses', { nodeSelector: { disk: 'hdd' } }, ["node(s) didn't match Pod's node affinity/selector"]],
    [
      'required affinity In',
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }] },
          },
        },
      },
      undefined,
    ],
    [
      'required affinity NotIn',
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'NotIn', values: ['ssd'] }] }],
            },
          },
        },
      },
      ["node(s) didn't match Pod's node affinity/selector"],
    ],
  ])('node affinity: %s', (_n, spec, want) => {
    expect(nodeAffinity(pod('p', spec), node('n', { labels: { disk: 'ssd' } }), [])).toEqual(want);
  });
  it('host ports conflict', () => {
    const n = node('n');
    const hp = (port: number) => ({ containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: port, protocol: 'TCP' }] }] });
    addPod(n, 'ns/a', pod('a', hp(8080)));
    expect(nodePorts(pod('b', hp(8080)), n, [])).toEqual(["node(s) didn't have free ports for the requested pod ports"]);
    expect(nodePorts(pod('c', hp(8081)), n, [])).toBeUndefined();
  });
  it('required anti-affinity by hostname', () => {
    const a = node('a');
    const b = node('b');
    addPod(a, 'ns/x', pod('x', {}, { app: 'db' }));
    const p = pod(
      'y',
      {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }],
          },
        },
      },
      { app: 'db' },
    );
    expect(podAntiAffinity(p, a, [a, b])).toEqual(["node(s) didn't match pod anti-affinity rules"]);
    expect(podAntiAffinity(p, b, [a, b])).toBeUndefined();
  });
  it('topology spread DoNotSchedule keeps the skew', () => {
    const a = node('a', { labels: { zone: 'z1' } });
    const b = node('b', { labels: { zone: 'z2' } });
    addPod(a, 'ns/1', pod('1', {}, { app: 'w' }));
    addPod(a, 'ns/2', pod('2', {}, { app: 'w' }));
    const p = pod(
      '3',
      { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'w' } } }] },
      { app: 'w' },
    );
    expect(podTopologySpread(p, a, [a, b])).toEqual(["node(s) didn't match pod topology spread constraints"]);
    expect(podTopologySpread(p, b, [a, b])).toBeUndefined();
  });
  it('writes the FitError as Kubernetes does', () => {
    expect(
      fitErrorMessage(
        3,
        new Map([
          ['Insufficient cpu', 2],
          ['node(s) had untolerated taint {a: b}', 1],
        ]),
      ),
    ).toBe('0/3 nodes are available: 1 node(s) had untolerated taint {a: b}, 2 Insufficient cpu.');
  });
});

describe('scores', () => {
  it('least allocated prefers the emptier node', () => {
    const busy = node('busy');
    addPod(busy, 'ns/a', pod('a', withRequests('1500m', '3Gi')));
    const p = pod('p', withRequests('100m', '100Mi'));
    expect(leastAllocated(p, node('empty'))).toBeGreaterThan(leastAllocated(p, busy));
  });
  it('spreads pods of one owner', () => {
    const a = node('a');
    const b = node('b');
    addPod(a, 'ns/1', pod('1', {}, { app: 'w' }));
    const scores = selectorSpread(pod('p', {}, { app: 'w' }), [a, b], [parseSelector('app=w')]);
    expect(scores.get('b')).toBe(100);
    expect(scores.get('a')).toBe(0);
  });
  it('ScheduleAnyway spread favours the smaller domain', () => {
    const a = node('a', { labels: { zone: 'z1' } });
    const b = node('b', { labels: { zone: 'z2' } });
    addPod(a, 'ns/1', pod('1', {}, { app: 'w' }));
    const p = pod(
      'p',
      { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'w' } } }] },
      { app: 'w' },
    );
    expect(topologySpreadScore(p, b, [a, b])).toBeGreaterThan(topologySpreadScore(p, a, [a, b]));
  });
});
