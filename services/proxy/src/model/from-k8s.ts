/**
 * Service and EndpointSlice objects → the proxy model, as pkg/proxy's
 * ServiceChangeTracker and EndpointSliceCache do it (IPv4 only).
 */
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { endpointString, servicePortKey, type EndpointInfo, type Protocol, type ServiceEntry, type ServicePortInfo, type ServiceType } from './types.js';

/** kube-proxy's default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** "a.b.c.d" → unsigned 32-bit number. */
export function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

function numberToIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/**
 * Parse an IPv4 CIDR the way kube-proxy reads LoadBalancerSourceRanges: surrounding
 * whitespace ignored, host bits cleared ("10.0.0.1/24" → "10.0.0.0/24"), a bare
 * address taken as /32. Anything else (IPv6, garbage) gives undefined and is skipped.
 */
export function parseIPv4CIDR(raw: string): { base: number; bits: number; text: string } | undefined {
  const s = raw.trim();
  const [ip, bitsText] = s.split('/', 2);
  if (ip === undefined || !isIPv4(ip)) return undefined;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32 || (bitsText !== undefined && !/^\d+$/.test(bitsText))) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const base = (ipv4ToNumber(ip) & mask) >>> 0;
  return { base, bits, text: `${numberToIPv4(base)}/${bits}` };
}

/** Whether ip lies in cidr (both IPv4). */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseIPv4CIDR(cidr);
  if (!c || !isIPv4(ip)) return false;
  const mask = c.bits === 0 ? 0 : (0xffffffff << (32 - c.bits)) >>> 0;
  return (ipv4ToNumber(ip) & mask) >>> 0 === c.base;
}

function protocolOf(p: string | undefined): Protocol {
  return p === 'UDP' || p === 'SCTP' ? p : 'TCP';
}

/** Services kube-proxy ignores: headless (no ClusterIP) and ExternalName (ShouldSkipService). */
function clusterIPv4(svc: Service): string | undefined {
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return undefined;
  const candidates = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP ?? ''];
  return candidates.find(isIPv4);
}

/**
 * The Service's ports as the proxy model, or [] for a Service kube-proxy does not
 * program (headless, ExternalName, no IPv4 ClusterIP).
 */
export function servicePortsFromService(svc: Service): ServicePortInfo[] {
  const clusterIP = clusterIPv4(svc);
  const spec = svc.spec;
  if (clusterIP === undefined || !spec) return [];
  const namespace = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? '';
  const type: ServiceType = spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? spec.type : 'ClusterIP';
  const externalTrafficPolicy = spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
  const internalTrafficPolicy = spec.internalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
  const externalIPs = (spec.externalIPs ?? []).map((s) => s.trim()).filter(isIPv4);
  // Only VIP-mode ingress is captured by kube-proxy; an ingress with ipMode Proxy
  // is one where the load balancer itself delivers to the node (KEP-1860).
  const loadBalancerIPs = (svc.status?.loadBalancer?.ingress ?? [])
    .filter((ing) => ing.ip && (ing.ipMode === undefined || ing.ipMode === 'VIP'))
    .map((ing) => ing.ip as string)
    .filter(isIPv4);
  const loadBalancerSourceRanges = (spec.loadBalancerSourceRanges ?? []).map((r) => parseIPv4CIDR(r)?.text).filter((r): r is string => r !== undefined);
  // ExternallyAccessible at the Service level: the type admits external traffic.
  const serviceExternallyAccessible = type !== 'ClusterIP' || externalIPs.length > 0;
  const affinityTimeoutSeconds =
    spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS) : undefined;
  const needsHealthCheck = type === 'LoadBalancer' && externalTrafficPolicy === 'Local';
  return (spec.ports ?? []).map((p: ServicePort): ServicePortInfo => ({
    namespace,
    name,
    portName: p.name ?? '',
    protocol: protocolOf(p.protocol),
    type,
    clusterIP,
    port: p.port,
    nodePort: p.nodePort ?? 0,
    externalIPs,
    loadBalancerIPs,
    loadBalancerSourceRanges,
    ...(affinityTimeoutSeconds === undefined ? {} : { affinityTimeoutSeconds }),
    externalTrafficPolicy,
    internalTrafficPolicy,
    healthCheckNodePort: needsHealthCheck ? (spec.healthCheckNodePort ?? 0) : 0,
    externalPolicyLocal: serviceExternallyAccessible && externalTrafficPolicy === 'Local',
  }));
}

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * Endpoints per Service port (key: servicePortKey), from all EndpointSlices.
 * A slice port matches a Service port by name and protocol; the first address of
 * each endpoint is used; an endpoint in several slices counts once (the slice
 * first by name wins: the copies only differ while a slice is being rewritten); conditions default as the API says
 * (ready and serving when unset, not terminating when unset).
 */
export function endpointsFromSlices(slices: readonly EndpointSlice[]): Map<string, EndpointInfo[]> {
  const byKey = new Map<string, Map<string, EndpointInfo>>();
  // Slices in name order so that duplicates resolve the same way on every node.
  const sorted = [...slices].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const slice of sorted) {
    if (slice.addressType !== 'IPv4') continue;
    const svcName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svcName) continue;
    const namespace = slice.metadata?.namespace ?? 'default';
    for (const port of slice.ports ?? []) {
      if (port.port === undefined) continue;
      const key = servicePortKey(namespace, svcName, port.name ?? '', protocolOf(port.protocol));
      let set = byKey.get(key);
      if (!set) byKey.set(key, (set = new Map<string, EndpointInfo>()));
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (!ip || !isIPv4(ip)) continue;
        const c = ep.conditions ?? {};
        const info: EndpointInfo = {
          ip,
          port: port.port,
          ready: c.ready ?? true,
          serving: c.serving ?? true,
          terminating: c.terminating ?? false,
          ...(ep.nodeName === undefined ? {} : { nodeName: ep.nodeName }),
          ...(ep.zone === undefined ? {} : { zone: ep.zone }),
        };
        const id = endpointString(info);
        if (!set.has(id)) set.set(id, info);
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, set] of byKey) {
    // kube-proxy sorts each list by "ip:port" (string order) so rule output is stable.
    const list = [...set.values()].sort((a, b) => cmp(endpointString(a), endpointString(b)));
    if (list.length > 0) out.set(key, list);
  }
  return out;
}

/** Byte-wise string order, as Go's `<` on strings (not locale order). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A Service's ports, each with its endpoints (from `endpointsFromSlices`). */
export function serviceEntries(ports: readonly ServicePortInfo[], endpoints: ReadonlyMap<string, EndpointInfo[]>): ServiceEntry[] {
  return ports.map((service) => ({
    service,
    endpoints: endpoints.get(servicePortKey(service.namespace, service.name, service.portName, service.protocol)) ?? [],
  }));
}

/** The model's order: "namespace/name:port", then protocol. */
export function entryOrderKey(e: ServiceEntry): string {
  return `${e.service.namespace}/${e.service.name}:${e.service.portName}\u0000${e.service.protocol}`;
}

/**
 * The whole model: every programmed Service port with its endpoints, sorted by
 * "namespace/name:port" then protocol, so that every generator's output is stable.
 */
export function buildModel(services: readonly Service[], slices: readonly EndpointSlice[]): ServiceEntry[] {
  const endpoints = endpointsFromSlices(slices);
  const keyed = services.flatMap((svc) => serviceEntries(servicePortsFromService(svc), endpoints)).map((e) => [entryOrderKey(e), e] as const);
  return keyed.sort((a, b) => cmp(a[0], b[0])).map(([, e]) => e);
}
