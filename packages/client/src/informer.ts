/**
 * Informers: list, then watch from the list's resourceVersion, keeping a
 * read-only local cache (a lister with indexes) and telling handlers of
 * adds, updates and deletes. A stream that ends — cleanly, with an ERROR
 * event, or broken — is re-watched from the last version seen, and 410 Gone
 * relists; either only after client-go's reflector back-off (800 ms doubling
 * to 30 s, jittered), so a server that keeps closing streams is not stormed.
 * Objects in the cache are frozen: copy (structuredClone) before changing.
 */
import { isGone, StatusError, type KubeObject, type Status } from '@kemu/api';
import type { ApiClient, ResourceId } from './api-client.js';
import { ExponentialBackoff, REFLECTOR_BACKOFF } from './backoff.js';
import { sleep, type Clock } from './clock.js';

/** client-go's minWatchTimeout. */
const MIN_WATCH_TIMEOUT_S = 300;

export type IndexFunc = (obj: KubeObject) => string[];

/** What an informer needs of a client: list and watch (the gRPC ApiClient, or a REST one for pods in the cluster). */
export type ListWatcher = Pick<ApiClient, 'list' | 'watch'>;

export interface Handlers {
  add?: (obj: KubeObject) => void;
  update?: (oldObj: KubeObject, newObj: KubeObject) => void;
  delete?: (obj: KubeObject) => void;
}

/** `namespace/name`, or `name` for cluster-scoped objects: the key controllers queue. */
export function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name!;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** The read-only view of an informer's cache. */
export class Lister {
  private items = new Map<string, KubeObject>();
  private indexes = new Map<string, Map<string, Set<string>>>();

  constructor(private indexers: Record<string, IndexFunc>) {
    for (const name of Object.keys(indexers)) this.indexes.set(name, new Map());
  }

  get(key: string): KubeObject | undefined {
    return this.items.get(key);
  }

  getNamed(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): KubeObject[] {
    if (namespace) return this.byIndex('namespace', namespace);
    return [...this.items.values()];
  }

  byIndex(index: string, value: string): KubeObject[] {
    const keys = this.indexes.get(index)?.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.items.get(k)!).filter(Boolean);
  }

  get size(): number {
    return this.items.size;
  }

  /** @internal */
  set(key: string, obj: KubeObject): KubeObject | undefined {
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, deepFreeze(obj));
    this.index(key, obj);
    return old;
  }

  /** @internal */
  delete(key: string): KubeObject | undefined {
    const old = this.items.get(key);
    if (old) {
      this.unindex(key, old);
      this.items.delete(key);
    }
    return old;
  }

  /** @internal */
  keys(): string[] {
    return [...this.items.keys()];
  }

  private index(key: string, obj: KubeObject): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        if (!idx.has(v)) idx.set(v, new Set());
        idx.get(v)!.add(key);
      }
    }
  }

  private unindex(key: string, obj: KubeObject): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        idx.get(v)?.delete(key);
        if (idx.get(v)?.size === 0) idx.delete(v);
      }
    }
  }
}

export interface InformerOptions {
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc>;
  onError?: (err: unknown) => void;
  /** Time and waiting for the re-watch back-off (real ones by default); tests drive them. */
  clock?: Pick<Clock, 'now'>;
  delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

export class Informer {
  readonly lister: Lister;
  private handlers: Handlers[] = [];
  private ac = new AbortController();
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private rv = '';
  private started = false;
  private backoff: ExponentialBackoff;
  private delay: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(
    private client: ListWatcher,
    readonly resource: ResourceId,
    private opts: InformerOptions = {},
  ) {
    this.lister = new Lister({
      namespace: (o) => (o.metadata.namespace ? [o.metadata.namespace] : []),
      uid: (o) => (o.metadata.uid ? [o.metadata.uid] : []),
      owner: (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid),
      ...(opts.indexers ?? {}),
    });
    const clock = opts.clock;
    this.backoff = new ExponentialBackoff({ ...REFLECTOR_BACKOFF, now: clock ? () => clock.now() : undefined, random: opts.random });
    this.delay = opts.delay ?? sleep;
  }

  on(h: Handlers): this {
    this.handlers.push(h);
    return this;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Start; resolves once the first list is in the cache. */
  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      void this.run();
    }
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  stop(): void {
    this.ac.abort();
  }

  private emit(kind: 'add' | 'update' | 'delete', a: KubeObject, b?: KubeObject): void {
    for (const h of this.handlers) {
      try {
        if (kind === 'add') h.add?.(a);
        else if (kind === 'update') h.update?.(a, b!);
        else h.delete?.(a);
      } catch (e) {
        this.opts.onError?.(e);
      }
    }
  }

  /** Replace the cache with a fresh list, telling handlers the difference. */
  private replace(items: KubeObject[]): void {
    const fresh = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      fresh.add(key);
      const old = this.lister.set(key, obj);
      if (!old) this.emit('add', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('update', old, obj);
    }
    for (const key of this.lister.keys()) {
      if (!fresh.has(key)) {
        const old = this.lister.delete(key)!;
        this.emit('delete', old);
      }
    }
  }

  private async list(): Promise<void> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list(this.resource, {
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        limit: 500,
        continue: cont,
      });
      items.push(...page.items);
      cont = page.continue;
      rv = rv || page.resourceVersion;
    } while (cont);
    this.replace(items);
    this.rv = rv;
    if (!this.synced) {
      this.synced = true;
      this.syncWaiters.splice(0).forEach((r) => r());
    }
  }

  private async run(): Promise<void> {
    const signal = this.ac.signal;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        needList = await this.watch(signal);
      } catch (e) {
        if (signal.aborted) return;
        if (isGone(e)) needList = true;
        this.opts.onError?.(e);
      }
      if (signal.aborted) return;
      // Every way a stream ends waits before the next watch or list, as client-go's reflector (whose relist after
      // 410 also comes through its back-off loop): a server that closes streams at once, or an api-server that is
      // away, is not hammered. Resuming from the last version seen loses nothing meanwhile.
      await this.delay(this.backoff.next(), signal);
    }
  }

  /** Follow one watch stream until it ends; true when the api-server said 410 Gone, so the next step is a relist. */
  private async watch(signal: AbortSignal): Promise<boolean> {
    for await (const ev of this.client.watch(this.resource, {
      resourceVersion: this.rv,
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      // As client-go's reflector: the api-server ends the watch after 5-10 min and the informer watches again from
      // where it was, so a stream that died unseen (a peer gone without a FIN) is not followed for ever.
      timeoutSeconds: Math.floor(MIN_WATCH_TIMEOUT_S * (1 + Math.random())),
      signal,
    })) {
      if (ev.type === 'ERROR') {
        const status = ev.object as unknown as Partial<Status>;
        if (status.code === 410) return true;
        throw StatusError.fromStatus(status);
      }
      if (ev.type === 'BOOKMARK') {
        this.rv = ev.object.metadata.resourceVersion ?? this.rv;
        continue;
      }
      const obj = ev.object;
      const key = keyOf(obj);
      this.rv = obj.metadata.resourceVersion ?? this.rv;
      if (ev.type === 'DELETED') {
        const old = this.lister.delete(key);
        this.emit('delete', old ?? obj);
      } else {
        const old = this.lister.set(key, obj);
        if (old) this.emit('update', old, obj);
        else this.emit('add', obj);
      }
    }
    return false;
  }
}

/** Informers shared by the controllers of one process: one per resource. */
export class InformerFactory {
  private informers = new Map<string, Informer>();
  /** The informers asked for inside each `track` under way (innermost last). */
  private tracking: Informer[][] = [];
  constructor(
    private client: ListWatcher,
    private onError?: (err: unknown) => void,
  ) {}

  for(resource: ResourceId, opts: InformerOptions = {}): Informer {
    const k = `${resource.group ?? ''}/${resource.version}/${resource.resource}/${resource.namespace ?? ''}/${opts.labelSelector ?? ''}/${opts.fieldSelector ?? ''}`;
    let inf = this.informers.get(k);
    if (!inf) {
      inf = new Informer(this.client, resource, { onError: this.onError, ...opts });
      this.informers.set(k, inf);
    }
    this.tracking.at(-1)?.push(inf);
    return inf;
  }

  /**
   * What `fn` returns (a controller, made by its constructor) and the informers it asked for while it ran: the
   * caches that controller waits for before it starts, as each of kube-controller-manager's controllers waits for its
   * own (WaitForNamedCacheSync) rather than for every informer of the process.
   */
  track<T>(fn: () => T): { value: T; informers: Informer[] } {
    const informers: Informer[] = [];
    this.tracking.push(informers);
    try {
      return { value: fn(), informers };
    } finally {
      this.tracking.pop();
    }
  }

  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
  }
}
