import { describe, expect, it } from 'vitest';
import { lookupResource, type KubeObject } from '@kemu/api';
import { bumpsGeneration, prepareForCreate, statusUpdateMetadata } from './strategy.js';

const info = (group: string, version: string, resource: string) => lookupResource(group, version, resource)!;
const obj = (o: Partial<KubeObject> = {}): KubeObject => ({ metadata: { name: 'x' }, ...o });
const forged = { phase: 'Running', replicas: 9, loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } };

describe('create, as each kind’s PrepareForCreate', () => {
  it.each([
    ['apps', 'v1', 'deployments', 1, {}],
    ['apps', 'v1', 'replicasets', 1, {}],
    ['apps', 'v1', 'daemonsets', 1, {}],
    ['', 'v1', 'replicationcontrollers', 1, {}],
    ['networking.k8s.io', 'v1', 'ingresses', 1, {}],
    ['', 'v1', 'services', undefined, {}],
    ['', 'v1', 'resourcequotas', undefined, {}],
  ] as const)('%s/%s %s: generation %s, the status sent is dropped', (group, version, resource, generation, status) => {
    const out = prepareForCreate(info(group, version, resource), obj({ spec: {}, status: forged }));
    expect(out.metadata.generation).toBe(generation);
    expect(out.status).toEqual(status);
  });

  it('gives a generation to kinds without status that have one (IngressClass, EndpointSlice), none to the others', () => {
    expect(prepareForCreate(info('networking.k8s.io', 'v1', 'ingressclasses'), obj({ spec: {} })).metadata.generation).toBe(1);
    expect(prepareForCreate(info('discovery.k8s.io', 'v1', 'endpointslices'), obj({ addressType: 'IPv4' })).metadata.generation).toBe(1);
    for (const r of ['configmaps', 'pods', 'namespaces', 'nodes', 'leases', 'limitranges'] as const) {
      const i = r === 'leases' ? info('coordination.k8s.io', 'v1', r) : info('', 'v1', r);
      expect(prepareForCreate(i, obj({ spec: {} })).metadata.generation, r).toBeUndefined();
    }
  });

  it('starts a Pod Pending with its QoS class, SchedulingGated when it has gates', () => {
    const pods = info('', 'v1', 'pods');
    const spec = { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } }] };
    expect(prepareForCreate(pods, obj({ spec, status: { phase: 'Running', podIP: '10.0.0.1' } })).status).toEqual({ phase: 'Pending', qosClass: 'Guaranteed' });
    const gated = prepareForCreate(pods, obj({ spec: { ...spec, schedulingGates: [{ name: 'wait' }] } }));
    // What kubectl shows: STATUS SchedulingGated, from the one condition.
    expect((gated.status as { conditions?: unknown }).conditions).toEqual([
      expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }),
    ]);
  });

  it('keeps the status a Node is registered with', () => {
    const status = { capacity: { cpu: '4' }, conditions: [{ type: 'Ready', status: 'True' }] };
    expect(prepareForCreate(info('', 'v1', 'nodes'), obj({ spec: {}, status })).status).toEqual(status);
  });

  it('makes a Namespace Active and adds the kubernetes finalizer to the ones asked for', () => {
    const out = prepareForCreate(info('', 'v1', 'namespaces'), obj({ spec: { finalizers: ['example.com/x'] }, status: { phase: 'Terminating' } }));
    expect(out.status).toEqual({ phase: 'Active' });
    expect((out.spec as { finalizers?: unknown }).finalizers).toEqual(['example.com/x', 'kubernetes']);
  });

  it('leaves the input alone', () => {
    const input = obj({ spec: {}, status: forged });
    prepareForCreate(info('apps', 'v1', 'deployments'), input);
    expect(input).toEqual(obj({ spec: {}, status: forged }));
  });
});

describe('update, as each kind’s PrepareForUpdate', () => {
  const withMeta = (meta: Partial<KubeObject['metadata']>, rest: Partial<KubeObject> = {}) => obj({ ...rest, metadata: { name: 'x', generation: 3, ...meta } });
  it.each([
    ['deployments: a spec change', info('apps', 'v1', 'deployments'), withMeta({}, { spec: { replicas: 2 } }), true],
    ['deployments: an annotation change', info('apps', 'v1', 'deployments'), withMeta({ annotations: { a: 'b' } }, { spec: { replicas: 1 } }), true],
    ['deployments: a label change', info('apps', 'v1', 'deployments'), withMeta({ labels: { a: 'b' } }, { spec: { replicas: 1 } }), false],
    ['replicasets: an annotation change', info('apps', 'v1', 'replicasets'), withMeta({ annotations: { a: 'b' } }, { spec: { replicas: 1 } }), false],
    ['endpointslices: a label change', info('discovery.k8s.io', 'v1', 'endpointslices'), withMeta({ labels: { a: 'b' } }, { endpoints: [] }), true],
    ['endpointslices: new endpoints', info('discovery.k8s.io', 'v1', 'endpointslices'), withMeta({}, { endpoints: [{ addresses: ['10.0.0.1'] }] }), true],
    ['endpointslices: an annotation change', info('discovery.k8s.io', 'v1', 'endpointslices'), withMeta({ annotations: { a: 'b' } }, { endpoints: [] }), false],
    ['pods: a spec change (no generation in 1.32)', info('', 'v1', 'pods'), withMeta({}, { spec: { activeDeadlineSeconds: 5 } }), false],
  ] as const)('%s → %s', (_what, i, next, want) => {
    const cur = i.storage === 'endpointslices' ? withMeta({}, { endpoints: [] }) : withMeta({}, { spec: { replicas: 1 } });
    expect(bumpsGeneration(i, next, cur)).toBe(want);
  });

  it('takes only a Deployment’s annotations from a status write', () => {
    const cur = withMeta({ labels: { a: 'b' }, annotations: { old: '1' } });
    const incoming = withMeta({ labels: { forged: 'x' }, annotations: { 'deployment.kubernetes.io/revision': '2' }, generation: 9 });
    expect(statusUpdateMetadata(info('apps', 'v1', 'deployments'), cur, incoming)).toEqual({
      name: 'x',
      generation: 3,
      labels: { a: 'b' },
      annotations: { 'deployment.kubernetes.io/revision': '2' },
    });
    expect(statusUpdateMetadata(info('apps', 'v1', 'replicasets'), cur, incoming)).toBe(cur.metadata);
  });
});
