/** Fixtures shared by the endpoints, EndpointSlice and mirroring tests. */
import type { Container, Node, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';

export interface PodOpts {
  ip?: string;
  ready?: boolean;
  node?: string;
  labels?: Record<string, string>;
  ports?: Container['ports'];
  deleting?: boolean;
  phase?: string;
  hostname?: string;
  subdomain?: string;
  readySince?: string;
  ns?: string;
}

export function pod(name: string, o: PodOpts = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.ns ?? 'ns',
      uid: `uid-${name}`,
      resourceVersion: '7',
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:10:00Z' } : {}),
    },
    spec: {
      nodeName: o.node ?? 'n1',
      containers: [{ name: 'c', image: 'nginx', ...(o.ports ? { ports: o.ports } : {}) }],
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ip === '' ? {} : { podIP: o.ip ?? '10.244.1.5', podIPs: [{ ip: o.ip ?? '10.244.1.5' }] }),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: o.readySince ?? '2026-01-01T00:01:00Z' }],
    },
  };
}

export function service(
  o: {
    name?: string;
    selector?: Record<string, string> | null;
    ports?: ServicePort[];
    clusterIP?: string;
    publishNotReady?: boolean;
    labels?: Record<string, string>;
    type?: string;
  } = {},
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: o.name ?? 'web', namespace: 'ns', uid: 'svc-uid', creationTimestamp: '2026-01-01T00:00:00Z', ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      type: o.type ?? 'ClusterIP',
      clusterIP: o.clusterIP ?? '10.96.0.20',
      ipFamilies: ['IPv4'],
      ...(o.selector === null ? {} : { selector: o.selector ?? { app: 'web' } }),
      ports: o.ports ?? [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      ...(o.publishNotReady ? { publishNotReadyAddresses: true } : {}),
    },
  };
}

export function node(name: string, zone?: string): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(zone ? { 'topology.kubernetes.io/zone': zone } : {}) } },
  };
}
