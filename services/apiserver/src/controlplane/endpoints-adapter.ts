/**
 * What the `kubernetes` Service's Endpoints and EndpointSlice should hold,
 * as kube-apiserver's EndpointsAdapter computes it: one subset with the
 * live api-servers' addresses (sorted) and the `https` port; the Endpoints
 * labelled so the EndpointSlice mirroring controller leaves it alone, the
 * slice labelled with the Service's name only (no managed-by label: neither
 * the EndpointSlice controller, which skips Services without a selector, nor
 * the mirroring controller owns it). Pure.
 */
import type { EndpointPort as CoreEndpointPort } from 'kubernetes-types/core/v1.js';
import { jsonEqual, type KubeObject } from '@kemu/api';

export const SERVICE_NAMESPACE = 'default';
export const SERVICE_NAME = 'kubernetes';
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

/** An Endpoints (core/v1) or EndpointSlice port, every field set. */
export type EndpointPort = Required<Pick<CoreEndpointPort, 'name' | 'port' | 'protocol'>>;

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
 * What both objects are computed from: the one written now (undefined: none
 * yet), the live api-servers' addresses, the port, and whether a port someone
 * changed is put back. Undefined when `current` already says it.
 */
type Desired<T extends KubeObject> = (current: T | undefined, ips: Iterable<string>, ports: EndpointPort[], reconcilePorts: boolean) => T | undefined;

/** A copy of `current` to change (never the cached object itself), or a new `kubernetes` object of that kind. */
function startFrom<T extends KubeObject>(current: T | undefined, apiVersion: string, kind: string): T {
  return current ? structuredClone(current) : ({ apiVersion, kind, metadata: { name: SERVICE_NAME, namespace: SERVICE_NAMESPACE } } as T);
}

/** Ports are put back when missing, and when changed only if `reconcile`. */
const portsToHold = (have: unknown[] | undefined, ports: EndpointPort[], reconcile: boolean): unknown[] =>
  !have?.length || (reconcile && !jsonEqual(have, ports)) ? structuredClone(ports) : have;

const sameLabels = (current: KubeObject, next: KubeObject): boolean => jsonEqual(current.metadata.labels ?? {}, next.metadata.labels);

/**
 * The Endpoints to write. Only its labels and subsets are compared, as
 * Kubernetes does: other fields a user added stay.
 */
export const desiredEndpoints: Desired<EndpointsObject> = (current, ips, ports, reconcilePorts) => {
  const next = startFrom(current, 'v1', 'Endpoints');
  next.metadata.labels = { [LABEL_SKIP_MIRROR]: 'true' };
  // Anything but exactly one subset is remade from scratch; the one subset keeps what else it holds.
  const subset = next.subsets?.length === 1 ? next.subsets[0] : {};
  subset.addresses = sorted(ips).map((ip) => ({ ip }));
  subset.ports = portsToHold(subset.ports, ports, reconcilePorts);
  next.subsets = [subset];
  if (current && sameLabels(current, next) && jsonEqual(current.subsets, next.subsets)) return undefined;
  return next;
};

/** The EndpointSlice `kubernetes` to write (its labels, address type, endpoints and ports are compared). */
export const desiredEndpointSlice: Desired<EndpointSliceObject> = (current, ips, ports, reconcilePorts) => {
  const next = startFrom(current, 'discovery.k8s.io/v1', 'EndpointSlice');
  next.metadata.labels = { [LABEL_SERVICE_NAME]: SERVICE_NAME };
  next.addressType = 'IPv4';
  next.endpoints = sorted(ips).map((ip) => ({ addresses: [ip], conditions: { ready: true } }));
  next.ports = portsToHold(next.ports, ports, reconcilePorts);
  if (
    current &&
    current.addressType === next.addressType &&
    sameLabels(current, next) &&
    jsonEqual(current.endpoints ?? [], next.endpoints) &&
    jsonEqual(current.ports ?? [], next.ports)
  )
    return undefined;
  return next;
};

/** Slices labelled for the `kubernetes` Service that are not ours (another name, or another address family): Kubernetes deletes them. */
export function strayEndpointSlices(slices: EndpointSliceObject[]): EndpointSliceObject[] {
  return slices.filter((s) => s.metadata.name !== SERVICE_NAME || s.addressType !== 'IPv4');
}
