import { describe, expect, it } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import { applyDefaults, lookupResource, type KubeObject } from '@kemu/api';
import type { EtcdStore } from '../storage/etcd-store.js';
import type { Admission } from './admission.js';
import { RestStore } from './rest.js';

// merge is pure: no store, cache or admission is reached.
const rest = new RestStore({} as EtcdStore, new Map(), {} as Admission);
const deployments = lookupResource('apps', 'v1', 'deployments')!;
const configmaps = lookupResource('', 'v1', 'configmaps')!;

function deployment(
  over: { replicas?: number; image?: string; labels?: Record<string, string>; annotations?: Record<string, string>; status?: object } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'ns',
      uid: 'u1',
      creationTimestamp: '2026-01-01T00:00:00Z',
      resourceVersion: '7',
      generation: 3,
      labels: over.labels,
      annotations: over.annotations,
    },
    spec: {
      replicas: over.replicas ?? 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: over.image ?? 'nginx' }] } },
    },
    status: over.status ?? { replicas: 2, observedGeneration: 3 },
  };
}

/** The stored object: as created, defaults included, at generation 3. */
const stored = () => applyDefaults(deployments, deployment());

describe('RestStore.merge: metadata.generation', () => {
  it.each([
    { what: 'a spec change (replicas)', incoming: deployment({ replicas: 5 }), want: 4 },
    { what: 'a spec change (template image)', incoming: deployment({ image: 'nginx:2' }), want: 4 },
    { what: 'a label change', incoming: deployment({ labels: { tier: 'front' } }), want: 3 },
    { what: 'an annotation change (copied to the ReplicaSets)', incoming: deployment({ annotations: { note: 'x' } }), want: 4 },
    { what: 'a status change sent to the main resource (ignored)', incoming: deployment({ status: { replicas: 9 } }), want: 3 },
    { what: 'no change at all (defaults left out)', incoming: deployment(), want: 3 },
  ])('$what → generation $want', ({ incoming, want }) => {
    expect(rest.merge(deployments, stored(), incoming).metadata.generation).toBe(want);
  });

  it('keeps the stored status when the main resource is written', () => {
    const cur = stored();
    expect(rest.merge(deployments, cur, deployment({ replicas: 5, status: { replicas: 9 } })).status).toEqual({ replicas: 2, observedGeneration: 3 });
  });

  it('a write to the status subresource changes only status, never generation or metadata', () => {
    const cur = stored();
    const next = rest.merge(deployments, cur, deployment({ replicas: 5, labels: { x: 'y' }, status: { replicas: 5, observedGeneration: 3 } }), 'status');
    expect(next.metadata).toEqual(cur.metadata);
    expect(next.spec).toEqual(cur.spec);
    expect(next.status).toEqual({ replicas: 5, observedGeneration: 3 });
  });

  it('a write to the status subresource of a Deployment carries its annotations (the revision), without a new generation', () => {
    const cur = stored();
    const incoming = deployment({ annotations: { 'deployment.kubernetes.io/revision': '2' }, status: { replicas: 2, observedGeneration: 3 } });
    const next = rest.merge(deployments, cur, incoming, 'status');
    expect(next.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '2' });
    expect(next.metadata.generation).toBe(3);
  });

  it('keeps the system fields of the stored object', () => {
    const cur = stored();
    const incoming = deployment({ replicas: 5 });
    incoming.metadata = { ...incoming.metadata, uid: 'forged', creationTimestamp: '1999-01-01T00:00:00Z', generation: 99 };
    const next = rest.merge(deployments, cur, incoming);
    expect(next.metadata).toMatchObject({ uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z', generation: 4, name: 'web', namespace: 'ns' });
  });

  it('gives no generation to a kind that has none (ConfigMap)', () => {
    const cm = (data: Record<string, string>) =>
      ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns', uid: 'u', resourceVersion: '1' }, data }) as KubeObject;
    expect(rest.merge(configmaps, cm({ a: '1' }), cm({ a: '2' })).metadata.generation).toBeUndefined();
  });
});

describe('RestStore.merge: a Service changing type', () => {
  const services = lookupResource('', 'v1', 'services')!;
  const lb: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'lb', namespace: 'ns', uid: 'u1', resourceVersion: '7' },
    spec: {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.5',
      clusterIPs: ['10.96.0.5'],
      ports: [{ port: 80, nodePort: 30080 }],
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 30099,
    },
    status: { loadBalancer: { ingress: [{ ip: '172.16.255.250' }] } },
  };
  it('drops the fields only the old type used (a merge patch of spec.type alone)', () => {
    const cur = applyDefaults(services, lb);
    const incoming = { ...cur, spec: { ...(cur as Service).spec, type: 'ClusterIP' } };
    const next = rest.merge(services, cur, incoming) as Service;
    expect(next.spec).not.toHaveProperty('externalTrafficPolicy');
    expect(next.spec).not.toHaveProperty('healthCheckNodePort');
    expect(next.spec).not.toHaveProperty('allocateLoadBalancerNodePorts');
    expect(next.spec?.ports?.[0]).not.toHaveProperty('nodePort');
    expect(next.spec?.clusterIP).toBe('10.96.0.5');
    expect(next.status).toEqual({ loadBalancer: {} });
  });
});
