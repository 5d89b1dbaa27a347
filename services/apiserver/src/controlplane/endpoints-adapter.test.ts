import { describe, expect, it } from 'vitest';
import {
  desiredEndpoints,
  desiredEndpointSlice,
  endpointPorts,
  strayEndpointSlices,
  type EndpointsObject,
  type EndpointSliceObject,
} from './endpoints-adapter.js';

const ports = endpointPorts(6443);
const stored = <T extends EndpointsObject | EndpointSliceObject>(o: T | undefined): T => ({
  ...o!,
  metadata: { ...o!.metadata, resourceVersion: '7', uid: 'u' },
});

describe('the kubernetes Endpoints', () => {
  it('is created with the api-servers sorted, the https port and the skip-mirror label', () => {
    expect(desiredEndpoints(undefined, ['172.31.0.4', '172.31.0.3'], ports, false)).toEqual({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets: [{ addresses: [{ ip: '172.31.0.3' }, { ip: '172.31.0.4' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }],
    });
  });

  it('is left alone when it says that already (other fields kept)', () => {
    const cur = stored(desiredEndpoints(undefined, ['172.31.0.3'], ports, false));
    cur.metadata.annotations = { note: 'mine' };
    expect(desiredEndpoints(cur, ['172.31.0.3'], ports, true)).toBeUndefined();
  });

  it('is rewritten when someone changed its addresses, subsets or labels, keeping its resourceVersion for the update', () => {
    const cur = stored(desiredEndpoints(undefined, ['172.31.0.3'], ports, false));
    const changed = { ...structuredClone(cur), subsets: [{ addresses: [{ ip: '10.0.0.9', nodeName: 'n' }], ports }] };
    expect(desiredEndpoints(changed, ['172.31.0.3'], ports, false)).toMatchObject({
      metadata: { resourceVersion: '7' },
      subsets: [{ addresses: [{ ip: '172.31.0.3' }], ports }],
    });
    const split = { ...structuredClone(cur), subsets: [...(cur.subsets ?? []), { addresses: [{ ip: '10.0.0.9' }], ports }] };
    expect(desiredEndpoints(split, ['172.31.0.3'], ports, false)?.subsets).toEqual([{ addresses: [{ ip: '172.31.0.3' }], ports }]);
    const relabelled = structuredClone(cur);
    relabelled.metadata.labels = { app: 'x' };
    expect(desiredEndpoints(relabelled, ['172.31.0.3'], ports, false)?.metadata.labels).toEqual({ 'endpointslice.kubernetes.io/skip-mirror': 'true' });
  });

  it('puts the ports back when they are gone, and when changed only if told to reconcile them', () => {
    const cur = stored(desiredEndpoints(undefined, ['172.31.0.3'], ports, false));
    const noPorts = structuredClone(cur);
    delete noPorts.subsets?.[0]?.ports;
    expect(desiredEndpoints(noPorts, ['172.31.0.3'], ports, false)?.subsets?.[0]?.ports).toEqual(ports);
    const otherPort = structuredClone(cur);
    otherPort.subsets = [{ addresses: [{ ip: '172.31.0.3' }], ports: [{ name: 'https', port: 8443, protocol: 'TCP' }] }];
    expect(desiredEndpoints(otherPort, ['172.31.0.3'], ports, false)).toBeUndefined();
    expect(desiredEndpoints(otherPort, ['172.31.0.3'], ports, true)?.subsets?.[0]?.ports).toEqual(ports);
  });
});

describe('the kubernetes EndpointSlice', () => {
  it('is created with one ready endpoint per api-server and only the service-name label', () => {
    expect(desiredEndpointSlice(undefined, ['172.31.0.3'], ports, false)).toEqual({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['172.31.0.3'], conditions: { ready: true } }],
      ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
    });
  });

  it('is left alone when it says that already, and rewritten when its endpoints or labels changed', () => {
    const cur = stored(desiredEndpointSlice(undefined, ['172.31.0.3'], ports, false));
    expect(desiredEndpointSlice(cur, ['172.31.0.3'], ports, true)).toBeUndefined();
    const changed = { ...structuredClone(cur), endpoints: [{ addresses: ['10.0.0.9'], conditions: { ready: false } }] };
    expect(desiredEndpointSlice(changed, ['172.31.0.3'], ports, false)?.endpoints).toEqual([{ addresses: ['172.31.0.3'], conditions: { ready: true } }]);
    const managed = structuredClone(cur);
    managed.metadata.labels!['endpointslice.kubernetes.io/managed-by'] = 'endpointslice-controller.k8s.io';
    expect(desiredEndpointSlice(managed, ['172.31.0.3'], ports, false)?.metadata.labels).toEqual({ 'kubernetes.io/service-name': 'kubernetes' });
  });

  it('counts other slices labelled for the Service as strays', () => {
    const ours = { metadata: { name: 'kubernetes' }, addressType: 'IPv4' };
    const other = { metadata: { name: 'kubernetes-abcde' }, addressType: 'IPv4' };
    const v6 = { metadata: { name: 'kubernetes' }, addressType: 'IPv6' };
    expect(strayEndpointSlices([ours, other, v6])).toEqual([other, v6]);
  });
});
