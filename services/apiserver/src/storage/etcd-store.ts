/**
 * The api-server's view of etcd: keys as in Kubernetes
 * (`/registry/<resource>/<namespace>/<name>`), resourceVersion = etcd's
 * mod_revision, create = txn "key absent", update/delete = txn "mod_revision
 * equals". Values are the object's JSON without its resourceVersion, which is
 * set from the revision on the way out. Values of the resources the
 * encryption configuration names go through its transformer (encrypted on the
 * way in, decrypted on the way out), so every reader above (gets, lists, the
 * watch caches) sees plain objects.
 */
import { Etcd3, isRecoverableError, type IKeyValue, type IWatchResponse } from 'etcd3';
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, noop, retry } from 'cockatiel';
import { WatchManager } from 'etcd3/lib/watch.js';
import type { KubeObject } from '@kemu/api';
import type { EncryptionTransformers } from './encryption-config.js';

/**
 * etcd3's WatchManager throws when a response names a watch id it no longer holds (a watcher cancelled while etcd was
 * still sending to it, or answers racing the re-attach after etcd restarted). The throw happens inside the shared
 * watch stream's data handler, and after it every cache stopped seeing events. etcd's Go client drops such a response;
 * so do we. The method is private in the library's types, hence the view below.
 */
interface WatchManagerInternals {
  watchers: { id: string | null }[];
  handleResponse: (this: WatchManagerInternals, res: IWatchResponse) => void;
}
const manager = WatchManager.prototype as unknown as WatchManagerInternals;
const handleResponse = manager.handleResponse;
manager.handleResponse = function (this: WatchManagerInternals, res: IWatchResponse) {
  if (!this.watchers.some((w) => w.id === res.watch_id)) return;
  handleResponse.call(this, res);
};

export interface StoredObject {
  key: string;
  obj: KubeObject;
  rev: number;
}

export type TxnResult = { ok: true; rev: number } | { ok: false; current?: StoredObject };

/** What a raw etcd watch event becomes. */
export interface StoreEvent {
  type: 'put' | 'delete';
  key: string;
  rev: number;
  obj?: KubeObject;
  prev?: KubeObject;
  created: boolean;
}

export interface StoreWatch {
  cancel(): Promise<void>;
}

/** Decode an etcd value and stamp its resourceVersion. */
export function decode(value: Buffer | string | undefined, rev: number): KubeObject | undefined {
  if (!value || value.length === 0) return undefined;
  const obj = JSON.parse(value.toString()) as KubeObject;
  obj.metadata = obj.metadata ?? {};
  obj.metadata.resourceVersion = String(rev);
  return obj;
}

function encode(obj: KubeObject): string {
  // etcd's mod revision is the resourceVersion: it is not stored in the object.
  const meta = { ...obj.metadata };
  delete meta.resourceVersion;
  return JSON.stringify({ ...obj, metadata: meta });
}

const num = (v: unknown): number => Number(v ?? 0);

/** The api-server's TLS client identity for etcd (--etcd-cafile, --etcd-certfile, --etcd-keyfile). */
export interface EtcdTLS {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface EtcdStoreOptions {
  dialTimeout?: number;
  /** With https:// endpoints: the CA etcd's serving certificates are checked against, and our client certificate. */
  tls?: EtcdTLS;
  /** Encryption at rest (--encryption-provider-config); none: every value stored as it is. */
  encryption?: EncryptionTransformers;
}

export class EtcdStore {
  readonly client: Etcd3;
  private encryption?: EncryptionTransformers;
  constructor(endpoints: string[], opts: EtcdStoreOptions = {}) {
    const members = endpoints.length > 1;
    this.encryption = opts.encryption;
    this.client = new Etcd3({
      hosts: endpoints,
      // grpc-js speaks TLS when given credentials (etcd3 then dials every host with them, http:// or https://).
      ...(opts.tls ? { credentials: { rootCertificate: opts.tls.ca, privateKey: opts.tls.key, certChain: opts.tls.cert } } : {}),
      dialTimeout: opts.dialTimeout ?? 3000,
      // gRPC keepalive, as kube-apiserver's etcd client has (30 s / 10 s there; shorter here, within etcd's own
      // 5 s minimum): a member that died without closing its connections (a power cut, `kemu chaos kill etcd`)
      // is given up within seconds, and the calls and watches on it move to another member.
      grpcOptions: {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 3_000,
        'grpc.keepalive_permit_without_calls': 1,
      },
      // With several members, a call to one that no longer answers (its connection hangs rather than fails) gives
      // up after 5 s and is tried on another; a member that failed is skipped for 5 s (a call blocked by its breaker
      // goes to the next member at once). With one, nothing of the kind: after an etcd restart the next request must
      // go through at once, and a slow write is not tried twice.
      ...(members ? { defaultCallOptions: (ctx: { isStream: boolean }) => (ctx.isStream ? {} : { deadline: Date.now() + 5000 }) } : {}),
      faultHandling: {
        host: () => (members ? circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(1) }) : noop),
        global: retry(handleWhen(isRecoverableError), { maxAttempts: members ? endpoints.length - 1 : 1 }),
        // A watch stream that broke is made again on another member within a couple of seconds, not up to 30 s later.
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }).next(),
      },
    });
  }

  close(): void {
    this.client.close();
  }

  /** The object stored under `key`, decrypted when its resource is encrypted. */
  private decode(key: string, value: Buffer | undefined, rev: number): KubeObject | undefined {
    if (!value || value.length === 0) return undefined;
    const t = this.encryption?.forKey(key);
    return decode(t ? t.fromStorage(value, key) : value, rev);
  }

  /** The bytes to store under `key`: the object's JSON, encrypted when its resource is. */
  private encode(key: string, obj: KubeObject): Buffer {
    const plain = Buffer.from(encode(obj));
    const t = this.encryption?.forKey(key);
    return t ? t.toStorage(plain, key) : plain;
  }

  /** The cluster's current revision (a cheap range on a key that never exists). */
  async revision(): Promise<number> {
    const res = await this.client.kv.range({ key: Buffer.from('\0kemu-revision-probe'), count_only: true });
    return num(res.header.revision);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const res = await this.client.kv.range({ key: Buffer.from(key) });
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const rev = num(kv.mod_revision);
    return { key, obj: this.decode(key, kv.value, rev)!, rev };
  }

  /** Everything under a prefix, at one revision. */
  async list(prefix: string): Promise<{ items: StoredObject[]; rev: number }> {
    const res = await this.client.kv.range({ key: Buffer.from(prefix), range_end: Buffer.from(prefixEnd(prefix)) });
    const items = res.kvs.map((kv: IKeyValue) => {
      const rev = num(kv.mod_revision);
      const key = kv.key.toString();
      return { key, obj: this.decode(key, kv.value, rev)!, rev };
    });
    return { items, rev: num(res.header.revision) };
  }

  /** Create if absent. */
  async create(key: string, obj: KubeObject): Promise<TxnResult> {
    const k = Buffer.from(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: k, value: this.encode(key, obj) } }],
      failure: [],
    });
    return res.succeeded ? { ok: true, rev: num(res.header.revision) } : { ok: false };
  }

  /** Replace if the key's mod_revision is still `expectedRev`; on failure returns the current value. */
  async update(key: string, obj: KubeObject, expectedRev: number): Promise<TxnResult> {
    const k = Buffer.from(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRev }],
      success: [{ request_put: { key: k, value: this.encode(key, obj) } }],
      failure: [{ request_range: { key: k } }],
    });
    if (res.succeeded) return { ok: true, rev: num(res.header.revision) };
    const kv = res.responses[0]?.response_range?.kvs?.[0];
    return { ok: false, current: kv ? { key, obj: this.decode(key, kv.value, num(kv.mod_revision))!, rev: num(kv.mod_revision) } : undefined };
  }

  /** Delete if the key's mod_revision is still `expectedRev`. */
  async delete(key: string, expectedRev: number): Promise<TxnResult> {
    const k = Buffer.from(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRev }],
      success: [{ request_delete_range: { key: k } }],
      failure: [{ request_range: { key: k } }],
    });
    if (res.succeeded) return { ok: true, rev: num(res.header.revision) };
    const kv = res.responses[0]?.response_range?.kvs?.[0];
    return { ok: false, current: kv ? { key, obj: this.decode(key, kv.value, num(kv.mod_revision))!, rev: num(kv.mod_revision) } : undefined };
  }

  /** Unconditional put (bootstrap, allocation records). */
  async put(key: string, obj: KubeObject): Promise<number> {
    const res = await this.client.kv.put({ key: Buffer.from(key), value: this.encode(key, obj) });
    return num(res.header.revision);
  }

  /**
   * Put with a time to live: the key is deleted by etcd `ttlSeconds` after
   * the last such put unless put again (a fresh etcd lease each time; the
   * previous one expires on its own).
   */
  async putWithTTL(key: string, obj: KubeObject, ttlSeconds: number): Promise<number> {
    const lease = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds });
    const res = await this.client.kv.put({ key: Buffer.from(key), value: this.encode(key, obj), lease: lease.ID });
    return num(res.header.revision);
  }

  /** Unconditional delete; true if the key was there. */
  async remove(key: string): Promise<boolean> {
    const res = await this.client.kv.deleteRange({ key: Buffer.from(key) });
    return num(res.deleted) > 0;
  }

  /** Drop history older than `rev` (Kubernetes compacts every 5 minutes). */
  async compact(rev: number): Promise<void> {
    await this.client.kv.compact({ revision: rev });
  }

  /**
   * Watch a prefix from `fromRev` (inclusive). Events arrive in revision
   * order, batched per etcd response; `onError` is told when the watch cannot
   * go on (e.g. the revision was compacted).
   */
  async watch(prefix: string, fromRev: number, onEvents: (events: StoreEvent[], rev: number) => void, onError: (err: Error) => void): Promise<StoreWatch> {
    // Handlers go on before the watch is created so no response is missed.
    const watcher = this.client.watch().prefix(prefix).startRevision(String(fromRev)).withPreviousKV().watcher();
    watcher.on('data', (res: IWatchResponse) => {
      if (!res.events.length) return;
      // The etcd3 library rethrows a handler's exception outside any try: never throw here.
      try {
        onEvents(
          res.events.map((e) => this.toStoreEvent(e)),
          num(res.header.revision),
        );
      } catch (err) {
        onError(err as Error);
      }
    });
    await new Promise<void>((resolve, reject) => {
      watcher.once('connected', () => resolve());
      watcher.once('error', reject);
    });
    watcher.on('error', (err: Error) => onError(err));
    return { cancel: () => watcher.cancel() };
  }

  private toStoreEvent(e: IWatchResponse['events'][number]): StoreEvent {
    const rev = num(e.kv.mod_revision);
    const key = e.kv.key.toString();
    if (e.type === 'Delete') {
      // A DELETED event carries the last state, at the deletion's revision.
      return { type: 'delete', key, rev, prev: this.decode(key, e.prev_kv?.value, rev), created: false };
    }
    return {
      type: 'put',
      key,
      rev,
      obj: this.decode(key, e.kv.value, rev),
      prev: e.prev_kv ? this.decode(key, e.prev_kv.value, num(e.prev_kv.mod_revision)) : undefined,
      created: num(e.kv.create_revision) === rev,
    };
  }
}

/** The range end that covers every key starting with `prefix`. */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      b[i]++;
      return b.subarray(0, i + 1).toString('latin1');
    }
  }
  return '\0';
}
