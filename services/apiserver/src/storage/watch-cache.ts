/**
 * The watch cache of one stored resource: the current objects (for LIST and
 * for the synthetic ADDED events of a new watch) and a window of recent
 * events, fed by one etcd watch on the resource's prefix. Every REST and gRPC
 * watcher is served from here, filtered by namespace, labels and fields. A
 * watch from a revision older than the window is served straight from etcd's
 * history while etcd still has it, so a client that reconnects after an
 * api-server restart misses nothing; only a compacted revision gets 410.
 */
import { expired, matches, matchesFields, type FieldRequirement, type KubeObject, type Selector, type WatchEventType } from '@kemu/api';
import type { EtcdStore, StoreEvent, StoreWatch } from './etcd-store.js';

export interface WatchFilter {
  namespace?: string;
  labels: Selector;
  fields: FieldRequirement[];
}

/** Where a watcher's events go. `send` returning false means the consumer is too slow: the watch ends. */
export interface WatchSink {
  send(type: WatchEventType, obj: KubeObject): boolean;
  close(err?: Error): void;
}

interface CachedEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  obj: KubeObject;
  prev?: KubeObject;
  rev: number;
}

export interface ActiveWatch {
  stop(): void;
}

/** The annotation of the BOOKMARK that ends a watch's initial events (sendInitialEvents=true). */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

export function matchesFilter(f: WatchFilter, obj: KubeObject | undefined): boolean {
  if (!obj) return false;
  if (f.namespace && obj.metadata?.namespace !== f.namespace) return false;
  if (f.labels.length && !matches(f.labels, obj.metadata?.labels)) return false;
  if (f.fields.length && !matchesFields(f.fields, obj)) return false;
  return true;
}

/** What a watcher with this filter sees of one change (Kubernetes' cacher semantics). */
export function filteredEvent(
  f: WatchFilter,
  type: CachedEvent['type'],
  obj: KubeObject,
  prev: KubeObject | undefined,
): { type: CachedEvent['type']; obj: KubeObject } | undefined {
  if (type === 'DELETED') return matchesFilter(f, obj) ? { type, obj } : undefined;
  const now = matchesFilter(f, obj);
  const before = type === 'MODIFIED' && matchesFilter(f, prev);
  if (now && before) return { type: 'MODIFIED', obj };
  if (now) return { type: 'ADDED', obj };
  if (before) return { type: 'DELETED', obj };
  return undefined;
}

export interface WatchCacheOptions {
  /** How many recent events to keep for watchers that resume. */
  capacity?: number;
}

export class WatchCache {
  readonly prefix: string;
  private objects = new Map<string, KubeObject>();
  private sortedKeys: string[] | undefined;
  private events: CachedEvent[] = [];
  private windowStart = 0;
  private watchers = new Set<{ filter: WatchFilter; sink: WatchSink }>();
  private waiters: { rev: number; resolve: () => void }[] = [];
  private etcdWatch: StoreWatch | undefined;
  private capacity: number;
  private stopped = false;
  /** The revision up to which this cache is complete. */
  rev = 0;
  ready = false;

  constructor(
    private store: EtcdStore,
    readonly storage: string,
    opts: WatchCacheOptions = {},
    private onError: (err: Error) => void = () => undefined,
  ) {
    this.prefix = `/registry/${storage}/`;
    this.capacity = opts.capacity ?? 10_000;
  }

  /** List, then watch from the list's revision. Resolves when the cache is complete. */
  async start(): Promise<void> {
    const { items, rev } = await this.store.list(this.prefix);
    this.objects = new Map(items.map((i) => [i.key, i.obj]));
    this.sortedKeys = undefined;
    this.rev = rev;
    this.windowStart = rev;
    this.events = [];
    this.etcdWatch = await this.store.watch(
      this.prefix,
      rev + 1,
      (evs) => this.apply(evs),
      (err) => void this.restart(err),
    );
    this.ready = true;
    this.flushWaiters();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.etcdWatch?.cancel().catch(() => undefined);
    for (const w of this.watchers) w.sink.close();
    this.watchers.clear();
  }

  /** The etcd watch broke for good: end every watcher (they resume or relist) and start over. */
  private async restart(err: Error): Promise<void> {
    if (this.stopped) return;
    this.onError(err);
    this.ready = false;
    await this.etcdWatch?.cancel().catch(() => undefined);
    for (const w of this.watchers) w.sink.close();
    this.watchers.clear();
    for (let delay = 200; !this.stopped; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.start();
        return;
      } catch (e) {
        this.onError(e as Error);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private apply(evs: StoreEvent[]): void {
    for (const e of evs) {
      if (e.rev <= this.rev) continue; // already seen (a resumed etcd watch)
      let ev: CachedEvent;
      if (e.type === 'delete') {
        const last = this.objects.get(e.key) ?? e.prev;
        this.objects.delete(e.key);
        this.sortedKeys = undefined;
        if (!last) {
          this.rev = e.rev;
          continue;
        }
        const obj = { ...last, metadata: { ...last.metadata, resourceVersion: String(e.rev) } };
        ev = { type: 'DELETED', key: e.key, obj, rev: e.rev };
      } else {
        const prev = this.objects.get(e.key);
        if (!prev) this.sortedKeys = undefined;
        this.objects.set(e.key, e.obj!);
        ev = { type: prev ? 'MODIFIED' : 'ADDED', key: e.key, obj: e.obj!, prev, rev: e.rev };
      }
      this.rev = e.rev;
      this.events.push(ev);
      if (this.events.length > this.capacity) {
        const dropped = this.events.splice(0, this.events.length - this.capacity);
        this.windowStart = dropped[dropped.length - 1].rev;
      }
      for (const w of this.watchers) this.deliver(w, ev);
    }
    this.flushWaiters();
  }

  private deliver(w: { filter: WatchFilter; sink: WatchSink }, ev: CachedEvent): void {
    const out = filteredEvent(w.filter, ev.type, ev.obj, ev.prev);
    if (!out) return;
    if (!w.sink.send(out.type, out.obj)) {
      // Too slow: Kubernetes ends such a watch rather than buffer without bound, or skip
      // what it cannot take; the consumer resumes from the last event it got.
      this.watchers.delete(w);
      w.sink.close();
    }
  }

  private flushWaiters(): void {
    if (!this.waiters.length) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.rev >= w.rev) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Resolve once the cache has seen revision `rev` (read-your-writes for LIST). */
  waitFor(rev: number, timeoutMs = 3000): Promise<void> {
    if (this.ready && this.rev >= rev) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push({
        rev,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  get size(): number {
    return this.objects.size;
  }

  /** Matching objects in key order, starting after `afterKey`, at most `limit`. */
  list(filter: WatchFilter, opts: { afterKey?: string; limit?: number } = {}): { items: KubeObject[]; lastKey?: string; more: boolean } {
    if (!this.sortedKeys) this.sortedKeys = [...this.objects.keys()].sort();
    const keys = this.sortedKeys;
    let start = 0;
    const nsPrefix = filter.namespace ? `${this.prefix}${filter.namespace}/` : undefined;
    if (nsPrefix) start = lowerBound(keys, nsPrefix);
    if (opts.afterKey) start = Math.max(start, lowerBound(keys, opts.afterKey + '\0'));
    const items: KubeObject[] = [];
    let lastKey: string | undefined;
    for (let i = start; i < keys.length; i++) {
      const k = keys[i];
      if (nsPrefix && !k.startsWith(nsPrefix)) break;
      const obj = this.objects.get(k)!;
      if (!matchesFilter(filter, obj)) continue;
      if (opts.limit && items.length >= opts.limit) return { items, lastKey, more: true };
      items.push(obj);
      lastKey = k;
    }
    return { items, lastKey, more: false };
  }

  /**
   * Start a watch. `fromRev` 0 sends a synthetic ADDED per current object
   * first; otherwise events after `fromRev`. Throws 410 Expired when etcd no
   * longer has that history. With `initialEventsEnd`, the synthetic ADDED
   * events are followed by a BOOKMARK at the cache's revision that says so
   * (the watch-list protocol: a client knows it has the whole state).
   */
  async watch(fromRev: number, filter: WatchFilter, sink: WatchSink, opts: { initialEventsEnd?: boolean } = {}): Promise<ActiveWatch> {
    if (fromRev === 0) {
      for (const obj of this.list(filter).items) if (!sink.send('ADDED', obj)) return this.tooSlow(sink);
      if (opts.initialEventsEnd) {
        const end = { metadata: { resourceVersion: String(this.rev), annotations: { [INITIAL_EVENTS_END]: 'true' } } } as KubeObject;
        if (!sink.send('BOOKMARK', end)) return this.tooSlow(sink);
      }
      return this.subscribe(filter, sink);
    }
    if (fromRev >= this.windowStart) {
      for (const ev of this.events) {
        if (ev.rev <= fromRev) continue;
        const out = filteredEvent(filter, ev.type, ev.obj, ev.prev);
        if (out && !sink.send(out.type, out.obj)) return this.tooSlow(sink);
      }
      return this.subscribe(filter, sink);
    }
    return this.watchFromHistory(fromRev, filter, sink);
  }

  /**
   * A consumer that fell behind during the replay is never subscribed: going
   * on with live events would hide the events it missed. Ending the watch
   * makes it resume from the last resourceVersion it got, or relist (the
   * cacher ends a blocked cacheWatcher the same way).
   */
  private tooSlow(sink: WatchSink): ActiveWatch {
    sink.close();
    return { stop: () => undefined };
  }

  private subscribe(filter: WatchFilter, sink: WatchSink): ActiveWatch {
    const w = { filter, sink };
    this.watchers.add(w);
    return { stop: () => void this.watchers.delete(w) };
  }

  /** Serve an old revision from etcd's own history (until compaction). */
  private async watchFromHistory(fromRev: number, filter: WatchFilter, sink: WatchSink): Promise<ActiveWatch> {
    const tooOld = () => expired(`too old resource version: ${fromRev} (${this.windowStart})`);
    let w: StoreWatch | undefined;
    let done = false;
    const end = (err?: Error) => {
      if (done) return;
      done = true;
      void w?.cancel().catch(() => undefined);
      sink.close(err);
    };
    try {
      w = await this.store.watch(
        this.prefix,
        fromRev + 1,
        (evs) => {
          for (const e of evs) {
            if (done) return;
            const out =
              e.type === 'delete'
                ? e.prev && filteredEvent(filter, 'DELETED', e.prev, undefined)
                : filteredEvent(filter, e.created ? 'ADDED' : 'MODIFIED', e.obj!, e.prev);
            if (out && !sink.send(out.type, out.obj)) return end();
          }
        },
        () => end(tooOld()),
      );
    } catch {
      // etcd cancels a watch whose start revision was compacted.
      throw tooOld();
    }
    // The watch may have ended (a slow consumer) before etcd confirmed it: cancel it now that we hold it.
    if (done) void w.cancel().catch(() => undefined);
    return { stop: () => end() };
  }
}

function lowerBound(keys: string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid] < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
