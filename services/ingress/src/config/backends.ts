/**
 * An Ingress backend → the pod addresses nginx proxies to. Traffic goes
 * straight to the endpoints (as ingress-nginx does), not through the
 * Service's ClusterIP: the Service port the Ingress names (by number or by
 * name) selects the EndpointSlice port of the same name, whose number is the
 * resolved targetPort of every endpoint. Ready endpoints only. A Service that
 * does not exist (yet) or has no ready endpoint is a backend nginx answers
 * with 503; a port the Service does not have makes the Ingress invalid. Pure.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { IngressBackend } from 'kubernetes-types/networking/v1.js';
import { servicePortKey, type EndpointInfo } from '@kemu/proxy/model';

/** Where a location sends its requests. */
export type Target =
  /** An upstream block of pod addresses (`ip:port`, sorted). */
  | { kind: 'upstream'; name: string; servers: string[] }
  /** No Service, or no ready endpoint: 503. */
  | { kind: 'unavailable'; name: string };

export type Resolution = { ok: true; target: Target } | { ok: false; reason: string; message: string };

/** What backend resolution reads: Services by `namespace/name`, endpoints as endpointsFromSlices gives them. */
export interface BackendIndex {
  services: ReadonlyMap<string, Service>;
  endpoints: ReadonlyMap<string, EndpointInfo[]>;
}

/**
 * The upstream's name: namespace, Service and port, joined by `_`, which no
 * Kubernetes name contains, so two Services never share one (ingress-nginx's
 * dashes would make ns `a-b`/svc `c` and ns `a`/svc `b-c` collide).
 */
export const upstreamName = (namespace: string, service: string, port: string | number) => `${namespace}_${service}_${port}`;

export function resolveBackend(namespace: string, backend: IngressBackend | undefined, index: BackendIndex): Resolution {
  const ref = backend?.service;
  if (!ref) {
    const what = backend?.resource ? `resource backend ${backend.resource.kind}/${backend.resource.name}` : 'a backend without a service';
    return { ok: false, reason: 'UnsupportedBackend', message: `${what} is not supported; only service backends are` };
  }
  const wanted = ref.port?.number ?? ref.port?.name ?? '';
  const name = upstreamName(namespace, ref.name, wanted);
  const svc = index.services.get(`${namespace}/${ref.name}`);
  if (!svc) return { ok: true, target: { kind: 'unavailable', name } };
  if (svc.spec?.type === 'ExternalName')
    return { ok: false, reason: 'UnsupportedBackend', message: `service ${namespace}/${ref.name} is of type ExternalName, which is not supported` };
  const port = (svc.spec?.ports ?? []).find((p) => (ref.port?.number !== undefined ? p.port === ref.port.number : p.name === ref.port?.name));
  if (!port || (port.protocol ?? 'TCP') !== 'TCP')
    return { ok: false, reason: 'ServicePortNotFound', message: `service ${namespace}/${ref.name} does not have a TCP port ${wanted}` };
  const eps = index.endpoints.get(servicePortKey(namespace, ref.name, port.name ?? '', 'TCP')) ?? [];
  const servers = [...new Set(eps.filter((e) => e.ready).map((e) => `${e.ip}:${e.port}`))].sort();
  return { ok: true, target: servers.length ? { kind: 'upstream', name, servers } : { kind: 'unavailable', name } };
}
