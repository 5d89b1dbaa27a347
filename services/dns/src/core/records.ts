/**
 * The records one Service gives the cluster zone, as the Kubernetes DNS
 * specification and CoreDNS's kubernetes plugin answer them:
 *
 * - ClusterIP: `<svc>.<ns>.svc.<zone>` A/AAAA of its cluster IPs; SRV per port
 *   at that name, and per named port at `_<port>._<proto>.<svc>...` (which also
 *   answer A with the cluster IPs, as CoreDNS does); PTR of every cluster IP.
 * - Headless: one A/AAAA per ready endpoint at the service name (none: the name
 *   does not exist), SRV per endpoint and port targeting `<host>.<svc>...`.
 * - Every endpoint of a non-ExternalName service has a name `<host>.<svc>...`,
 *   where host is its hostname or its dashed address, and a PTR to it.
 * - ExternalName: a CNAME at the service name.
 *
 * Not-ready endpoints are left out unless the Service publishes them
 * (publishNotReadyAddresses). Pure.
 */
import { isIP } from 'node:net';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { dashed, reverseName } from './names.js';

/** An SRV record's data. */
export interface Srv {
  port: number;
  target: string;
}

/** What one name holds; an entry with nothing in it still exists (NODATA, not NXDOMAIN). */
export interface NameData {
  a: string[];
  aaaa: string[];
  srv: Srv[];
  ptr: string[];
  txt: string[];
  cname?: string;
}

export const emptyName = (): NameData => ({ a: [], aaaa: [], srv: [], ptr: [], txt: [] });

/** Names → data, built by one owner (a Service, a Pod, a Namespace). */
export type Contribution = Map<string, NameData>;

function entry(c: Contribution, name: string): NameData {
  let d = c.get(name);
  if (!d) c.set(name, (d = emptyName()));
  return d;
}

function addIP(d: NameData, ip: string): void {
  const list = isIP(ip) === 6 ? d.aaaa : d.a;
  if (!list.includes(ip)) list.push(ip);
}

function addPtr(c: Contribution, ip: string, target: string): void {
  const r = reverseName(ip);
  if (!r) return;
  const d = entry(c, r);
  if (!d.ptr.includes(target)) d.ptr.push(target);
}

/** One endpoint address as DNS sees it. */
interface Endpoint {
  ip: string;
  host: string;
  ports: { name: string; port: number; protocol: string }[];
}

/** Finds the pod an endpoint points at (for its hostname when the endpoint carries none). */
export type PodLookup = (namespace: string, name: string) => Pod | undefined;

/** The endpoints DNS publishes for a service: ready ones (all with publishNotReadyAddresses), deduplicated. */
export function dnsEndpoints(svc: Service, slices: Iterable<EndpointSlice>, pod: PodLookup): Endpoint[] {
  const publishAll = svc.spec?.publishNotReadyAddresses === true;
  const ns = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? '';
  const seen = new Set<string>();
  const out: Endpoint[] = [];
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const ports = (slice.ports ?? []).map((p) => ({ name: (p.name ?? '').toLowerCase(), port: p.port ?? -1, protocol: (p.protocol ?? 'TCP').toLowerCase() }));
    for (const ep of slice.endpoints ?? []) {
      // A nil ready condition means "unknown", which consumers take as ready.
      if (!publishAll && ep.conditions?.ready === false) continue;
      let host = ep.hostname?.toLowerCase();
      if (!host && ep.targetRef?.kind === 'Pod' && ep.targetRef.name) {
        // The EndpointSlice controller fills hostname from the pod (spec.hostname when spec.subdomain is the
        // service's name); read the pod when a controller did not.
        const p = pod(ep.targetRef.namespace ?? ns, ep.targetRef.name);
        if (p?.spec?.hostname && p.spec.subdomain === name) host = p.spec.hostname.toLowerCase();
      }
      for (const ip of ep.addresses ?? []) {
        if (!isIP(ip)) continue;
        const h = host || dashed(ip);
        const k = `${h}/${ip}`;
        if (seen.has(k)) continue;
        seen.add(k);
        out.push({ ip, host: h, ports });
      }
    }
  }
  return out;
}

/** The cluster IPs of a service that has them (not headless, not ExternalName). */
export function clusterIPs(svc: Service): string[] {
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return [];
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip !== 'None' && isIP(ip));
}

export function isHeadless(svc: Service): boolean {
  return svc.spec?.type !== 'ExternalName' && (svc.spec?.clusterIP === 'None' || svc.spec?.clusterIPs?.[0] === 'None');
}

export interface ServiceRecordOptions {
  zone: string;
  /** Also `<svc>.<ns>.<zone>`, the names before Kubernetes 1.2. */
  legacyNames?: boolean;
}

/** Every name a Service gives the zone (pure). */
export function serviceRecords(svc: Service, slices: Iterable<EndpointSlice>, pod: PodLookup, o: ServiceRecordOptions): Contribution {
  const c: Contribution = new Map();
  const ns = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? '';
  const base = `${name}.${ns}.svc.${o.zone}`;
  const legacy = o.legacyNames && ns !== 'svc' && ns !== 'pod' ? `${name}.${ns}.${o.zone}` : undefined;

  if (svc.spec?.type === 'ExternalName') {
    const target = (svc.spec.externalName ?? '').replace(/\.$/, '');
    // An address as externalName makes no CNAME; CoreDNS then has nothing for the name.
    if (target && !isIP(target)) {
      entry(c, base).cname = target;
      if (legacy) entry(c, legacy).cname = target;
    }
    return c;
  }

  const endpoints = dnsEndpoints(svc, slices, pod);
  for (const ep of endpoints) {
    const host = `${ep.host}.${base}`;
    addIP(entry(c, host), ep.ip);
    addPtr(c, ep.ip, host);
  }

  if (isHeadless(svc)) {
    if (!endpoints.length) return c;
    const d = entry(c, base);
    for (const ep of endpoints) {
      addIP(d, ep.ip);
      for (const p of ep.ports) {
        if (p.port < 0) continue;
        d.srv.push({ port: p.port, target: `${ep.host}.${base}` });
        if (!p.name) continue;
        const named = entry(c, `_${p.name}._${p.protocol}.${base}`);
        named.srv.push({ port: p.port, target: `${ep.host}.${base}` });
        addIP(named, ep.ip);
      }
    }
    if (legacy) for (const ip of [...d.a, ...d.aaaa]) addIP(entry(c, legacy), ip);
    return c;
  }

  const ips = clusterIPs(svc);
  // CoreDNS answers a service only through its ports; Kubernetes requires one for every ClusterIP service.
  const ports = svc.spec?.ports ?? [];
  if (!ips.length || !ports.length) return c;
  const d = entry(c, base);
  for (const ip of ips) {
    addIP(d, ip);
    addPtr(c, ip, base);
    if (legacy) addIP(entry(c, legacy), ip);
  }
  for (const p of ports) {
    d.srv.push({ port: p.port, target: base });
    if (!p.name) continue;
    const named = entry(c, `_${p.name.toLowerCase()}._${(p.protocol ?? 'TCP').toLowerCase()}.${base}`);
    if (!named.srv.some((s) => s.port === p.port)) named.srv.push({ port: p.port, target: base });
    for (const ip of ips) addIP(named, ip);
  }
  return c;
}

/** The addresses of a pod that DNS answers for (none while it terminates, as CoreDNS). */
export function podIPs(pod: Pod): string[] {
  if (pod.metadata?.deletionTimestamp) return [];
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip ?? '') : pod.status?.podIP ? [pod.status.podIP] : [];
  return ips.filter((ip) => isIP(ip));
}

/** `a-b-c-d.<ns>.pod.<zone>` A for each of a pod's addresses. */
export function podRecords(pod: Pod, zone: string): Contribution {
  const c: Contribution = new Map();
  const ns = pod.metadata?.namespace ?? 'default';
  for (const ip of podIPs(pod)) addIP(entry(c, `${dashed(ip)}.${ns}.pod.${zone}`), ip);
  return c;
}
