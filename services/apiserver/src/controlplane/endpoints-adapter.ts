/**
 * What the `kubernetes` Service's Endpoints and EndpointSlice should hold,
 * as kube-apiserver's EndpointsAdapter computes it: one subset with the
 * live api-servers' addresses (sorted) and the `https` port; the Endpoints
 * labelled so the EndpointSlice mirroring controller leaves it alone, the
 * slice labelled with the Service's name only (no managed-by label: neither
 * the EndpointSlice controller, which skips Services without a selector, nor
 * the mirroring controller owns it). Pure.
 */
import { jsonEqual, type KubeObject } from '@kemu/api';

export const SERVICE_NAMESPACE = 'default';
export const SERVICE_NAME = 'kubernetes';
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

export interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
}

/** The fields of an Endpoints object this file reads and writes. */
export interface EndpointsObject extends KubeObject {
  subsets?: { addresses?: { ip: string }[]; ports?: unknown[]; [field: string]: unknown }[];
}

/** The fields of an EndpointSlice this file reads and writes. */
export interface EndpointSliceObject extends KubeObject {
  addressType?: string;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
  ports?: unknown[];
}

/** The one port of the api-server's endpoints (Kubernetes' createEndpointPortSpec). */
export const endpointPorts = (port: number): EndpointPort[] => [{ name: 'https', port, protocol: 'TCP' }];

/** The `kubernetes` Service kube-apiserver creates when it is missing. */
export function kubernetesService(clusterIP: string, targetPort: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE_NAME, namespace: SERVICE_NAMESPACE, labels: { provider: 'kubernetes', component: 'apiserver' } },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      ipFamilyPolicy: 'SingleStack',
      sessionAffinity: 'None',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort }],
    },
  };
}

// Sorted as Go's sets.List sorts strings, so every api-server writes the same list.
const sorted = (ips: Iterable<string>): string[] => [...new Set(ips)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * The Endpoints to write, or undefined when `current` already says it (only
 * its labels and subsets are compared, as Kubernetes does: other fields a
 * user added stay). Ports are put back when missing, and when changed only
 * if `reconcilePorts`.
 */
export function desiredEndpoints(
  current: EndpointsObject | undefined,
  ips: Iterable<string>,
  ports: EndpointPort[],
  reconcilePorts: boolean,
): EndpointsObject | undefined {
  const next: EndpointsObject = current
    ? structuredClone(current)
    : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: SERVICE_NAME, namespace: SERVICE_NAMESPACE } };
  next.metadata.labels = { [LABEL_SKIP_MIRROR]: 'true' };
  // Anything but exactly one subset is remade from scratch; the one subset keeps what else it holds.
  const subset = next.subsets?.length === 1 ? next.subsets[0] : {};
  subset.addresses = sorted(ips).map((ip) => ({ ip }));
  const have = subset.ports ?? [];
  if (have.length === 0 || (reconcilePorts && !jsonEqual(have, ports))) subset.ports = structuredClone(ports);
  next.subsets = [subset];
  if (current && jsonEqual(current.metadata.labels ?? {}, next.metadata.labels) && jsonEqual(current.subsets, next.subsets)) return undefined;
  return next;
}

/**
 * The EndpointSlice `kubernetes` to write, or undefined when `current`
 * already says it (its labels, endpoints and ports are compared).
 */
export function desiredEndpointSlice(
  current: EndpointSliceObject | undefined,
  ips: Iterable<string>,
  ports: EndpointPort[],
  reconcilePorts: boolean,
): EndpointSliceObject | undefined {
  const next: EndpointSliceObject = current
    ? structuredClone(current)
    : { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: SERVICE_NAME, namespace: SERVICE_NAMESPACE } };
  next.metadata.labels = { [LABEL_SERVICE_NAME]: SERVICE_NAME };
  next.addressType = 'IPv4';
  next.endpoints = sorted(ips).map((ip) => ({ addresses: [ip], conditions: { ready: true } }));
  const have = next.ports ?? [];
  if (have.length === 0 || (reconcilePorts && !jsonEqual(have, ports))) next.ports = structuredClone(ports);
  if (
    current &&
    current.addressType === next.addressType &&
    jsonEqual(current.metadata.labels ?? {}, next.metadata.labels) &&
    jsonEqual(current.endpoints ?? [], next.endpoints) &&
    jsonEqual(current.ports ?? [], next.ports)
  )
    return undefined;
  return next;
}

/** Slices labelled for the `kubernetes` Service that are not ours (another name, or another address family): Kubernetes deletes them. */
export function strayEndpointSlices(slices: EndpointSliceObject[]): EndpointSliceObject[] {
  return slices.filter((s) => s.metadata.name !== SERVICE_NAME || s.addressType !== 'IPv4');
}
