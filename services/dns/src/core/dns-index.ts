/**
 * The answer index: every name of the cluster zone (and the reverse names of
 * its addresses), kept up to date from Services, EndpointSlices, Pods and
 * Namespaces, so that a question is one map lookup. Each object owns the names
 * it contributes; a change replaces its owner's names and merges them with
 * the other owners of the same names (two services' endpoints on one pod IP
 * share a PTR name). No I/O; the clock comes in through the options.
 */
import type { Namespace, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { emptyName, podRecords, serviceRecords, type Contribution, type NameData } from './records.js';

/** How pod names `a-b-c-d.<ns>.pod.<zone>` are answered (CoreDNS's `pods` option). */
export type PodMode = 'verified' | 'insecure' | 'disabled';

export interface IndexOptions {
  /** The cluster domain. Default cluster.local. */
  zone?: string;
  /** TTL of every answer. Default 5 s, CoreDNS's kubernetes plugin default. */
  ttl?: number;
  /** Default verified: only addresses of pods that exist in that namespace. */
  podMode?: PodMode;
  /** Also answer `<svc>.<ns>.<zone>` (the names before Kubernetes 1.2). Default off. */
  legacyNames?: boolean;
  /** Seconds since the epoch, for the SOA serial (the time of the last change, as CoreDNS). */
  now?: () => number;
}

export interface CompiledIndexOptions {
  zone: string;
  ttl: number;
  podMode: PodMode;
  legacyNames: boolean;
  now: () => number;
}

export function compileIndexOptions(o: IndexOptions = {}): CompiledIndexOptions {
  return {
    zone: (o.zone ?? 'cluster.local').toLowerCase().replace(/^\.|\.$/g, ''),
    ttl: o.ttl ?? 5,
    podMode: o.podMode ?? 'verified',
    legacyNames: o.legacyNames ?? false,
    now: o.now ?? (() => Math.floor(Date.now() / 1000)),
  };
}

/** The EndpointSlice label that names its service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

function merge(into: NameData, from: NameData): void {
  for (const ip of from.a) if (!into.a.includes(ip)) into.a.push(ip);
  for (const ip of from.aaaa) if (!into.aaaa.includes(ip)) into.aaaa.push(ip);
  for (const p of from.ptr) if (!into.ptr.includes(p)) into.ptr.push(p);
  for (const t of from.txt) if (!into.txt.includes(t)) into.txt.push(t);
  into.srv.push(...from.srv);
  into.cname ??= from.cname;
}

function sameContribution(a: Contribution, b: Contribution): boolean {
  if (a.size !== b.size) return false;
  for (const [name, d] of a) {
    const e = b.get(name);
    if (!e || JSON.stringify(d) !== JSON.stringify(e)) return false;
  }
  return true;
}

export class DnsIndex {
  readonly options: CompiledIndexOptions;
  /** Bumped on every change: answers cached against an older generation are stale. */
  generation = 0;
  /** The SOA serial: when the index last changed. */
  serial: number;
  private services = new Map<string, Service>();
  /** service key → slice key → slice */
  private slices = new Map<string, Map<string, EndpointSlice>>();
  private sliceOwner = new Map<string, string>();
  private pods = new Map<string, Pod>();
  private namespaces = new Set<string>();
  /** owner → its contribution; name → owners of it; name → merged data. */
  private owned = new Map<string, Contribution>();
  private owners = new Map<string, Set<string>>();
  private names = new Map<string, NameData>();

  constructor(o: IndexOptions = {}) {
    this.options = compileIndexOptions(o);
    this.serial = this.options.now();
    const z = this.options.zone;
    const fixed: Contribution = new Map([
      [z, emptyName()],
      [`svc.${z}`, emptyName()],
      [`pod.${z}`, emptyName()],
      [`dns-version.${z}`, { ...emptyName(), txt: ['1.0.1'] }],
    ]);
    this.setOwner('zone', fixed);
  }

  /** The data of a name (a key: lowercase, no trailing dot), or undefined when it does not exist. */
  lookup(name: string): NameData | undefined {
    return this.names.get(name);
  }

  hasNamespace(ns: string): boolean {
    return this.namespaces.has(ns);
  }

  upsertService(svc: Service): void {
    this.services.set(keyOf(svc), svc);
    this.rebuildService(keyOf(svc));
  }

  deleteService(svc: Service): void {
    this.services.delete(keyOf(svc));
    this.rebuildService(keyOf(svc));
  }

  upsertSlice(slice: EndpointSlice): void {
    const key = keyOf(slice);
    const svc = `${slice.metadata?.namespace ?? ''}/${slice.metadata?.labels?.[SERVICE_NAME_LABEL] ?? ''}`;
    const before = this.sliceOwner.get(key);
    if (before !== undefined && before !== svc) this.removeSlice(key, before);
    this.sliceOwner.set(key, svc);
    let m = this.slices.get(svc);
    if (!m) this.slices.set(svc, (m = new Map<string, EndpointSlice>()));
    m.set(key, slice);
    this.rebuildService(svc);
  }

  deleteSlice(slice: EndpointSlice): void {
    const key = keyOf(slice);
    const svc = this.sliceOwner.get(key);
    if (svc !== undefined) this.removeSlice(key, svc);
  }

  upsertPod(pod: Pod): void {
    const key = keyOf(pod);
    const old = this.pods.get(key);
    this.pods.set(key, pod);
    this.podChanged(old, pod);
  }

  deletePod(pod: Pod): void {
    const key = keyOf(pod);
    const old = this.pods.get(key);
    this.pods.delete(key);
    this.setOwner(`pod:${key}`, new Map());
    this.podChanged(old, undefined);
  }

  upsertNamespace(ns: Namespace): void {
    const name = ns.metadata?.name ?? '';
    this.namespaces.add(name);
    const z = this.options.zone;
    const c: Contribution = new Map([
      [`${name}.svc.${z}`, emptyName()],
      [`${name}.pod.${z}`, emptyName()],
    ]);
    if (this.options.legacyNames && name !== 'svc' && name !== 'pod') c.set(`${name}.${z}`, emptyName());
    this.setOwner(`ns:${name}`, c);
  }

  deleteNamespace(ns: Namespace): void {
    const name = ns.metadata?.name ?? '';
    this.namespaces.delete(name);
    this.setOwner(`ns:${name}`, new Map());
  }

  private removeSlice(key: string, svc: string): void {
    this.sliceOwner.delete(key);
    const m = this.slices.get(svc);
    m?.delete(key);
    if (m && !m.size) this.slices.delete(svc);
    this.rebuildService(svc);
  }

  private podChanged(old: Pod | undefined, pod: Pod | undefined): void {
    const key = keyOf((pod ?? old)!);
    if (pod && this.options.podMode === 'verified') this.setOwner(`pod:${key}`, podRecords(pod, this.options.zone));
    // A pod's hostname reaches the names of the headless service its subdomain names (when its endpoint lacks one).
    const ns = (pod ?? old)?.metadata?.namespace ?? '';
    for (const sub of new Set([old?.spec?.subdomain, pod?.spec?.subdomain])) if (sub && this.services.has(`${ns}/${sub}`)) this.rebuildService(`${ns}/${sub}`);
  }

  private rebuildService(key: string): void {
    const svc = this.services.get(key);
    const contribution = svc
      ? serviceRecords(svc, this.slices.get(key)?.values() ?? [], (ns, name) => this.pods.get(`${ns}/${name}`), {
          zone: this.options.zone,
          legacyNames: this.options.legacyNames,
        })
      : new Map<string, NameData>();
    this.setOwner(`svc:${key}`, contribution);
  }

  /**
   * Replace an owner's names, re-merging every name it had or has. An update
   * that changes no record (a pod's status, a service's annotations) changes
   * nothing, so the server keeps its encoded replies.
   */
  private setOwner(owner: string, c: Contribution): void {
    const before = this.owned.get(owner);
    if (!before && !c.size) return;
    if (before && sameContribution(before, c)) return;
    const touched = new Set<string>([...(before?.keys() ?? []), ...c.keys()]);
    if (c.size) this.owned.set(owner, c);
    else this.owned.delete(owner);
    for (const name of touched) {
      let set = this.owners.get(name);
      if (c.has(name)) {
        if (!set) this.owners.set(name, (set = new Set()));
        set.add(owner);
      } else set?.delete(owner);
      if (!set?.size) {
        this.owners.delete(name);
        this.names.delete(name);
        continue;
      }
      const merged = emptyName();
      for (const o of set) merge(merged, this.owned.get(o)!.get(name)!);
      this.names.set(name, merged);
    }
    this.generation++;
    this.serial = this.options.now();
  }
}
