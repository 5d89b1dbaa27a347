/**
 * EndpointSliceTracker: the version of every EndpointSlice a controller
 * wrote, per Service, so that (1) the watch event of its own write does not
 * trigger another sync, and (2) a sync that would read a cache older than its
 * own last write waits instead of undoing or duplicating it. Kubernetes keys
 * this on metadata.generation; kemu's api-server bumps generation only for
 * objects with a spec, so the resourceVersion (etcd's revision, increasing)
 * plays that part.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { LABEL_SERVICE_NAME, versionOf } from './endpoint-util.js';

const DELETION_EXPECTED = -1;

const serviceOf = (s: EndpointSlice) => `${s.metadata?.namespace}/${s.metadata?.labels?.[LABEL_SERVICE_NAME] ?? ''}`;

export class SliceTracker {
  /** service key → slice uid → version written (or DELETION_EXPECTED). */
  private bySvc = new Map<string, Map<string, number>>();
  private svcUids = new Map<string, string>();

  has(slice: EndpointSlice): boolean {
    return this.bySvc.get(serviceOf(slice))?.has(slice.metadata?.uid ?? '') ?? false;
  }

  /** Is this slice's state news to us (not a write of ours, nor older than one)? */
  shouldSync(slice: EndpointSlice): boolean {
    const v = this.bySvc.get(serviceOf(slice))?.get(slice.metadata?.uid ?? '');
    return v === undefined || versionOf(slice) > v;
  }

  /**
   * Is the cache behind our writes for this Service: a slice older than we
   * wrote it, one we deleted still there, or one we wrote not there yet?
   * A Service deleted and made again starts afresh.
   */
  stale(svcKey: string, svcUid: string | undefined, slices: readonly EndpointSlice[]): boolean {
    const known = this.svcUids.get(svcKey);
    if (known && svcUid && known !== svcUid) this.bySvc.delete(svcKey);
    if (svcUid) this.svcUids.set(svcKey, svcUid);
    const tracked = this.bySvc.get(svcKey);
    if (!tracked) return false;
    const seen = new Set<string>();
    for (const s of slices) {
      const uid = s.metadata?.uid ?? '';
      seen.add(uid);
      const v = tracked.get(uid);
      if (v !== undefined && (v === DELETION_EXPECTED || v > versionOf(s))) return true;
    }
    for (const [uid, v] of tracked) if (v !== DELETION_EXPECTED && !seen.has(uid)) return true;
    return false;
  }

  /** A slice as our create or update returned it. */
  update(slice: EndpointSlice): void {
    this.slices(slice).set(slice.metadata?.uid ?? '', versionOf(slice));
  }

  expectDeletion(slice: EndpointSlice): void {
    this.slices(slice).set(slice.metadata?.uid ?? '', DELETION_EXPECTED);
  }

  /** A slice's deletion was seen: true if we deleted it (nothing to do), false if someone else did. */
  handleDeletion(slice: EndpointSlice): boolean {
    const tracked = this.bySvc.get(serviceOf(slice));
    const uid = slice.metadata?.uid ?? '';
    const v = tracked?.get(uid);
    tracked?.delete(uid);
    return v === undefined || v === DELETION_EXPECTED;
  }

  deleteService(svcKey: string): void {
    this.bySvc.delete(svcKey);
    this.svcUids.delete(svcKey);
  }

  private slices(slice: EndpointSlice): Map<string, number> {
    const key = serviceOf(slice);
    let m = this.bySvc.get(key);
    if (!m) this.bySvc.set(key, (m = new Map<string, number>()));
    return m;
  }
}
