import { describe, expect, it } from 'vitest';
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { named } from './endpoint-util.js';
import { mirrorSlices, shouldMirror } from './endpointslice-mirror.js';

const endpoints = (subsets: Endpoints['subsets'], meta: Partial<NonNullable<Endpoints['metadata']>> = {}): Endpoints => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: {
    name: 'ext',
    namespace: 'ns',
    uid: 'ep-uid',
    labels: { team: 'a' },
    annotations: { note: 'x', 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'endpoints.kubernetes.io/last-change-trigger-time': 't' },
    ...meta,
  },
  subsets,
});
const asStored = (s: EndpointSlice, name: string): EndpointSlice => {
  return { ...structuredClone(s), metadata: { ...named(s.metadata, name, '50'), uid: `uid-${name}` } };
};

describe('shouldMirror', () => {
  it.each([
    [{}, true],
    [{ labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, false],
    [{ labels: { 'endpointslice.kubernetes.io/skip-mirror': 'false' } }, true],
    [{ annotations: { 'control-plane.alpha.kubernetes.io/leader': '{}' } }, false],
  ])('%j → %s', (meta, want) => expect(shouldMirror(endpoints([], meta))).toBe(want));
});

describe('mirrorSlices', () => {
  const ep = endpoints([
    {
      addresses: [{ ip: '192.168.9.1' }, { ip: '192.168.9.2', nodeName: 'n1', hostname: 'two' }],
      notReadyAddresses: [{ ip: '192.168.9.3' }],
      ports: [{ name: 'http', port: 80 }],
    },
    { addresses: [{ ip: 'not-an-ip' }, { ip: 'fd00::5' }], ports: [{ port: 53, protocol: 'UDP' }] },
  ]);

  it('one slice per subset and address type, labelled and owned as Kubernetes does', () => {
    const r = mirrorSlices(ep, []);
    expect(r.invalid).toBe(1);
    expect(r.create.map((s) => [s.addressType, s.ports, s.endpoints])).toEqual([
      [
        'IPv4',
        [{ name: 'http', port: 80, protocol: 'TCP' }],
        [
          { addresses: ['192.168.9.1'], conditions: { ready: true } },
          { addresses: ['192.168.9.2'], conditions: { ready: true }, nodeName: 'n1', hostname: 'two' },
          { addresses: ['192.168.9.3'], conditions: { ready: false } },
        ],
      ],
      ['IPv6', [{ name: '', port: 53, protocol: 'UDP' }], [{ addresses: ['fd00::5'], conditions: { ready: true } }]],
    ]);
    expect(r.create[0].metadata).toEqual({
      generateName: 'ext-',
      namespace: 'ns',
      labels: { team: 'a', 'kubernetes.io/service-name': 'ext', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' },
      annotations: { note: 'x' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: 'ext', uid: 'ep-uid', controller: true, blockOwnerDeletion: true }],
    });
  });

  it('writes nothing when the slices already mirror the Endpoints', () => {
    const existing = mirrorSlices(ep, []).create.map((s, i) => asStored(s, `ext-${i}`));
    expect(mirrorSlices(ep, existing)).toMatchObject({ create: [], update: [], delete: [] });
  });

  it('updates the slice in place when an address changes, and deletes the slices of a port set that went', () => {
    const existing = mirrorSlices(ep, []).create.map((s, i) => asStored(s, `ext-${i}`));
    const next = endpoints([{ addresses: [{ ip: '192.168.9.1' }], ports: [{ name: 'http', port: 80 }] }]);
    const r = mirrorSlices(next, existing);
    expect(r.create).toEqual([]);
    expect(r.update.map((s) => [s.metadata?.name, s.metadata?.resourceVersion, s.endpoints.length])).toEqual([['ext-0', '50', 1]]);
    expect(r.delete.map((s) => s.metadata?.name)).toEqual(['ext-1']);
  });

  it('a port change reuses the old slice (an update, not create + delete)', () => {
    const existing = mirrorSlices(endpoints([{ addresses: [{ ip: '192.168.9.1' }], ports: [{ port: 80 }] }]), []).create.map((s) => asStored(s, 'ext-a'));
    const r = mirrorSlices(endpoints([{ addresses: [{ ip: '192.168.9.1' }], ports: [{ port: 8080 }] }]), existing);
    expect([r.create, r.delete]).toEqual([[], []]);
    expect(r.update.map((s) => [s.metadata?.name, s.ports])).toEqual([['ext-a', [{ name: '', port: 8080, protocol: 'TCP' }]]]);
  });

  it('follows label changes of the Endpoints', () => {
    const existing = mirrorSlices(ep, []).create.map((s, i) => asStored(s, `ext-${i}`));
    const r = mirrorSlices({ ...ep, metadata: { ...ep.metadata, labels: { team: 'b' } } }, existing);
    expect(r.update.map((s) => s.metadata?.labels?.team)).toEqual(['b', 'b']);
  });

  it('mirrors at most maxPerSubset addresses of a subset', () => {
    const many = endpoints([{ addresses: Array.from({ length: 5 }, (_, i) => ({ ip: `10.1.0.${i + 1}` })), ports: [{ port: 80 }] }]);
    const r = mirrorSlices(many, [], 3);
    expect(r.create[0].endpoints).toHaveLength(3);
    expect(r.overCapacity).toBe(2);
  });
});
