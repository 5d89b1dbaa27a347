import { describe, expect, it } from 'vitest';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { node, pod, service } from '../testing/endpoint-fixtures.js';
import { endpointKey, reconcileSlices, type SliceInput } from './endpointslice-reconcile.js';

const nodes = new Map<string, Node>([
  ['n1', node('n1', 'zone-a')],
  ['n2', node('n2')],
]);
const pods = (n: number, o: Parameters<typeof pod>[1] = {}): Pod[] =>
  Array.from({ length: n }, (_, i) => pod(`p${String(i).padStart(3, '0')}`, { ip: `10.244.${Math.floor(i / 200)}.${(i % 200) + 1}`, ...o }));
const run = (o: Partial<SliceInput>) => reconcileSlices({ service: service(), pods: [], nodes, existing: [], ...o });

/** What the api-server would store for a created slice: a name and a version. */
let n = 0;
const stored = (s: EndpointSlice): EndpointSlice => {
  n++;
  const { generateName, ...meta } = s.metadata ?? {};
  return {
    ...structuredClone(s),
    metadata: { ...meta, name: meta.name ?? `${generateName}x${n}`, uid: meta.uid ?? `slice-${n}`, resourceVersion: String(100 + n) },
  };
};
/** Apply a result to a set of stored slices, as the controller's writes would. */
const apply = (existing: EndpointSlice[], r: ReturnType<typeof run>): EndpointSlice[] => {
  const gone = new Set([...r.delete, ...r.update].map((s) => s.metadata!.name));
  return [
    ...existing.filter((s) => !gone.has(s.metadata!.name)),
    ...r.update.map((u) => stored({ ...u, metadata: { ...u.metadata, uid: existing.find((e) => e.metadata!.name === u.metadata!.name)?.metadata?.uid } })),
    ...r.create.map(stored),
  ];
};

describe('reconcileSlices: desired state', () => {
  it('one slice for a Service’s ready pods: labels, owner, ports, conditions, zone, trigger time', () => {
    const r = run({
      pods: [pod('a', { ip: '10.244.1.5' }), pod('b', { ip: '10.244.2.5', node: 'n2', ready: false })],
      triggerTime: Date.parse('2026-01-01T00:00:00Z'),
    });
    expect(r.update).toEqual([]);
    expect(r.delete).toEqual([]);
    expect(r.create).toHaveLength(1);
    const s = r.create[0];
    expect(s.metadata).toEqual({
      generateName: 'web-',
      namespace: 'ns',
      labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }],
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:00Z' },
    });
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(s.endpoints).toEqual([
      {
        addresses: ['10.244.1.5'],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: 'n1',
        zone: 'zone-a',
        targetRef: { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'uid-a' },
      },
      {
        addresses: ['10.244.2.5'],
        conditions: { ready: false, serving: false, terminating: false },
        nodeName: 'n2',
        targetRef: { kind: 'Pod', namespace: 'ns', name: 'b', uid: 'uid-b' },
      },
    ]);
  });

  it.each([
    ['a terminating ready pod stays: not ready, serving, terminating', { deleting: true }, false, { ready: false, serving: true, terminating: true }],
    ['publishNotReadyAddresses makes a not-ready pod ready', { ready: false }, true, { ready: true, serving: false, terminating: false }],
    ['publishNotReadyAddresses makes a terminating pod ready', { deleting: true }, true, { ready: true, serving: true, terminating: true }],
  ])('%s', (_name, o, publishNotReady, conditions) => {
    const r = run({ service: service({ publishNotReady }), pods: [pod('a', o)] });
    expect(r.create[0].endpoints.map((e) => e.conditions)).toEqual([conditions]);
  });

  it('pods serving a named port on different numbers land in different slices', () => {
    const svc = service({ ports: [{ name: 'web', port: 80, targetPort: 'http', protocol: 'TCP' }] });
    const r = run({
      service: svc,
      pods: [
        pod('a', { ip: '10.244.1.5', ports: [{ name: 'http', containerPort: 8080 }] }),
        pod('b', { ip: '10.244.1.6', ports: [{ name: 'http', containerPort: 9090 }] }),
      ],
    });
    expect(r.create.map((s) => [s.ports, s.endpoints.map((e) => e.targetRef?.name)])).toEqual([
      [[{ name: 'web', port: 8080, protocol: 'TCP' }], ['a']],
      [[{ name: 'web', port: 9090, protocol: 'TCP' }], ['b']],
    ]);
  });

  it('hostname for a pod whose subdomain is the Service; headless label', () => {
    const r = run({ service: service({ clusterIP: 'None' }), pods: [pod('a', { hostname: 'a', subdomain: 'web' })] });
    expect(r.create[0].endpoints[0].hostname).toBe('a');
    expect(r.create[0].metadata?.labels).toMatchObject({ 'service.kubernetes.io/headless': '' });
  });

  it('leaves out pods without an IP, finished ones, and (reporting it) those on an unknown node', () => {
    const r = run({ pods: [pod('a', { ip: '' }), pod('b', { phase: 'Failed' }), pod('c', { node: 'gone' }), pod('d')] });
    expect(r.create[0].endpoints.map((e) => e.targetRef?.name)).toEqual(['d']);
    expect(r.missingNodes).toEqual(['gone']);
  });

  it('a Service without endpoints gets one empty placeholder slice, kept as it is', () => {
    const r = run({});
    expect(r.create.map((s) => [s.ports, s.endpoints])).toEqual([[[], []]]);
    const again = run({ existing: apply([], r) });
    expect([again.create, again.update, again.delete]).toEqual([[], [], []]);
  });

  it('at most 100 endpoints a slice: 250 pods make 3 slices', () => {
    const r = run({ pods: pods(250) });
    expect(r.create.map((s) => s.endpoints.length)).toEqual([100, 100, 50]);
    const keys = new Set(r.create.flatMap((s) => s.endpoints.map(endpointKey)));
    expect(keys.size).toBe(250);
  });
});

describe('reconcileSlices: churn', () => {
  it('writes nothing when the slices already say it, pods’ resourceVersions aside', () => {
    const ps = pods(3);
    const existing = apply([], run({ pods: ps }));
    const bumped = ps.map((p) => ({ ...p, metadata: { ...p.metadata, resourceVersion: '99' } }));
    expect(run({ pods: bumped, existing })).toMatchObject({ create: [], update: [], delete: [] });
  });

  it('a pod turning not ready updates its slice in place', () => {
    const ps = pods(3);
    const existing = apply([], run({ pods: ps }));
    ps[1] = pod(ps[1].metadata!.name!, { ip: ps[1].status!.podIP, ready: false });
    const r = run({ pods: ps, existing });
    expect(r.create).toEqual([]);
    expect(r.delete).toEqual([]);
    expect(r.update.map((s) => s.metadata?.name)).toEqual([existing[0].metadata?.name]);
    expect(r.update[0].metadata?.resourceVersion).toBe(existing[0].metadata?.resourceVersion);
    expect(r.update[0].endpoints.find((e) => e.targetRef?.name === 'p001')?.conditions?.ready).toBe(false);
  });

  it('new pods fill an unchanged slice with room rather than a new one', () => {
    const existing = apply([], run({ pods: pods(130) }));
    expect(existing.map((s) => s.endpoints.length)).toEqual([100, 30]);
    const r = run({ pods: pods(140), existing });
    expect(r.create).toEqual([]);
    expect(r.update.map((s) => [s.metadata?.name, s.endpoints.length])).toEqual([[existing[1].metadata?.name, 40]]);
  });

  it('a removed pod leaves its slice, which is then topped up with the new ones', () => {
    const existing = apply([], run({ pods: pods(100) }));
    const next = [...pods(100).slice(1), pod('new', { ip: '10.244.9.9' })];
    const r = run({ pods: next, existing });
    expect(r.create).toEqual([]);
    expect(r.update).toHaveLength(1);
    expect(r.update[0].endpoints.map((e) => e.targetRef?.name)).toContain('new');
    expect(r.update[0].endpoints).toHaveLength(100);
  });

  it('all pods gone: the last slice becomes the placeholder (an update, not delete + create)', () => {
    const existing = apply([], run({ pods: pods(2) }));
    const r = run({ pods: [], existing });
    expect(r.create).toEqual([]);
    expect(r.delete).toEqual([]);
    expect(r.update.map((s) => [s.metadata?.name, s.ports, s.endpoints])).toEqual([[existing[0].metadata?.name, [], []]]);
  });

  it('deletes slices owned by an older Service of the same name and slices of another address type', () => {
    const [own] = apply([], run({ pods: pods(1) }));
    const foreign = {
      ...own,
      metadata: { ...own.metadata, name: 'web-old', uid: 'x', ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'old-uid' }] },
    };
    const v6 = { ...own, metadata: { ...own.metadata, name: 'web-v6', uid: 'y' }, addressType: 'IPv6' };
    const r = run({ pods: pods(1), existing: [own, foreign, v6] });
    expect(r.delete.map((s) => s.metadata?.name).sort()).toEqual(['web-old', 'web-v6']);
    expect([r.create, r.update]).toEqual([[], []]);
  });

  it('follows the Service’s labels onto its slices', () => {
    const existing = apply([], run({ pods: pods(1) }));
    const r = run({ service: service({ labels: { team: 'b' } }), pods: pods(1), existing });
    expect(r.update[0].metadata?.labels).toEqual({
      team: 'b',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
  });
});
