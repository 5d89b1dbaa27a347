/**
 * kube-proxy's change trackers (pkg/proxy ServiceChangeTracker, EndpointsChangeTracker): the informers' events say
 * which Services changed, and only those are computed again; every other Service keeps its model entries, the same
 * objects as before. That is what lets a sync of 5,000 Services after one endpoint moved cost one Service's work:
 * the iptables data path remembers rules and fingerprints by entry object.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { SERVICE_NAME_LABEL, cmp, endpointsFromSlices, entryOrderKey, serviceEntries, servicePortsFromService } from './from-k8s.js';
import type { ServiceEntry } from './types.js';

/** Where the tracker reads the current objects (the informers' caches). */
export interface ModelSource {
  /** The Service "namespace/name", or undefined when there is none. */
  service(key: string): Service | undefined;
  /** The EndpointSlices labelled for the Service "namespace/name". */
  slices(key: string): readonly EndpointSlice[];
  /** Every Service's "namespace/name" (read when everything is computed again). */
  serviceKeys(): Iterable<string>;
}

/** The Service ("namespace/name") an EndpointSlice belongs to, by its kubernetes.io/service-name label. */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return name ? `${slice.metadata?.namespace ?? 'default'}/${name}` : undefined;
}

export class ModelTracker {
  private readonly byService = new Map<string, ServiceEntry[]>();
  private readonly dirty = new Set<string>();
  private all = true;
  private model: ServiceEntry[] = [];
  private readonly orderKeys = new WeakMap<ServiceEntry, string>();

  /** The Service "namespace/name", or one of its slices, changed (added, updated or deleted). */
  changed(key: string): void {
    this.dirty.add(key);
  }

  /** Compute every Service again on the next call (at start, and when the caches were listed afresh). */
  changedAll(): void {
    this.all = true;
  }

  /**
   * The whole model, in buildModel's order and equal to buildModel of the same objects; only the Services marked
   * changed since the last call are read from `src`.
   */
  entries(src: ModelSource): ServiceEntry[] {
    if (!this.all && this.dirty.size === 0) return this.model;
    const keys = this.all ? new Set([...src.serviceKeys(), ...this.byService.keys()]) : this.dirty;
    const gone = new Set<ServiceEntry>();
    const added: ServiceEntry[] = [];
    for (const key of keys) {
      for (const e of this.byService.get(key) ?? []) gone.add(e);
      const svc = src.service(key);
      const now = svc ? serviceEntries(servicePortsFromService(svc), endpointsFromSlices(src.slices(key))) : [];
      if (now.length > 0) this.byService.set(key, now);
      else this.byService.delete(key);
      added.push(...now);
    }
    this.all = false;
    this.dirty.clear();
    // Mostly sorted already (the kept entries are): the sort is close to linear.
    this.model = [...this.model.filter((e) => !gone.has(e)), ...added].sort((a, b) => cmp(this.orderKey(a), this.orderKey(b)));
    return this.model;
  }

  private orderKey(e: ServiceEntry): string {
    let k = this.orderKeys.get(e);
    if (k === undefined) this.orderKeys.set(e, (k = entryOrderKey(e)));
    return k;
  }
}
