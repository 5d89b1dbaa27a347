/**
 * The generic REST store (Kubernetes' genericregistry.Store): create, get,
 * list, update, delete and watch for any resource, with defaulting,
 * admission, validation, optimistic concurrency, graceful deletion and
 * finalizers. Objects are converted to their storage version on the way in
 * and back to the requested version on the way out.
 */
import { randomUUID } from 'node:crypto';
import type { Namespace } from 'kubernetes-types/core/v1.js';
import {
  alreadyExists,
  applyDefaults,
  badRequest,
  conflict,
  formatTime,
  fromStorage,
  internalError,
  invalidError,
  jsonEqual,
  MODIFIED_CONFLICT,
  notFound,
  parseFieldSelector,
  parseSelector,
  storageInfo,
  toStorage,
  validateCreate,
  validateUpdate,
  type DeleteOptions,
  type KubeObject,
  type ResourceInfo,
  StatusError,
  groupVersion,
  isPlainObject,
} from '@kemu/api';
import type { EtcdStore, StoredObject } from '../storage/etcd-store.js';
import type { WatchCache, WatchFilter, WatchSink, ActiveWatch } from '../storage/watch-cache.js';
import type { Admission } from './admission.js';
import { planDelete } from './delete-strategy.js';
import { randomSuffix } from './names.js';
import { hasStatus, withZeroStatus } from './status.js';
import { checkRbacWrite } from '../authz/rbac-writes.js';
import { currentUser, warnClient } from '../authz/request-user.js';
import { csrCreateChecks, csrMergeSubresource, csrPrepareForCreate } from './csr-strategy.js';
import { dropTypeDependentFields } from './service-type-change.js';
import { bumpsGeneration, prepareForCreate, statusUpdateMetadata } from './strategy.js';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** A namespace's spec.finalizers (what the namespace controller removes once it is empty). */
const namespaceFinalizers = (o: KubeObject): string[] => (o as Namespace).spec?.finalizers ?? [];

export class RestStore {
  /** The newest revision this api-server wrote per stored resource (LIST waits for its cache to see it). */
  private written = new Map<string, number>();

  constructor(
    readonly store: EtcdStore,
    readonly caches: Map<string, WatchCache>,
    readonly admission: Admission,
    private now: () => Date = () => new Date(),
  ) {}

  key(info: ResourceInfo, ns: string | undefined, name: string): string {
    return info.namespaced ? `/registry/${info.storage}/${ns}/${name}` : `/registry/${info.storage}/${name}`;
  }

  cache(info: ResourceInfo): WatchCache {
    const c = this.caches.get(info.storage);
    if (!c) throw internalError(`no cache for ${info.storage}`);
    return c;
  }

  private noteWrite(info: ResourceInfo, rev: number): void {
    if (rev > (this.written.get(info.storage) ?? 0)) this.written.set(info.storage, rev);
  }

  private out(info: ResourceInfo, obj: KubeObject): KubeObject {
    return fromStorage(info, obj);
  }

  private stamp(info: ResourceInfo, obj: KubeObject, rev: number): KubeObject {
    const s = storageInfo(info);
    return { ...obj, apiVersion: groupVersion(s), kind: s.kind, metadata: { ...obj.metadata, resourceVersion: String(rev) } };
  }

  async create(info: ResourceInfo, ns: string | undefined, body: KubeObject, opts: { dryRun?: boolean } = {}): Promise<KubeObject> {
    if (body.metadata?.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    if (info.namespaced && body.metadata?.namespace && ns && body.metadata.namespace !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    let obj = toStorage(info, body);
    obj.metadata = { ...(obj.metadata ?? {}) };
    if (info.namespaced) obj.metadata.namespace = ns;
    else delete obj.metadata.namespace;
    const generated = !obj.metadata.name && !!obj.metadata.generateName;
    if (generated) obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    obj = applyDefaults(storageInfo(info), obj);
    await this.admission.validateNamespace(info, ns, obj.metadata.name ?? '');
    this.admission.defaultTolerationSeconds(info, obj);
    this.admission.limitRanges(info, obj);
    this.admission.serviceAccount(info, obj);
    // After ServiceAccount, as in kube-apiserver's plugin order: a mirror pod names no service account.
    this.admission.nodeRestriction('CREATE', info, undefined, obj);
    // The strategy's PrepareForCreate (generation, and the status the caller may not set), after mutating
    // admission as in Kubernetes. A kind with a status shows one from the start, `{}` until a controller writes it.
    obj = withZeroStatus(info, prepareForCreate(info, obj));
    if (info.storage === 'certificatesigningrequests') obj = csrPrepareForCreate(obj, currentUser());
    const errs = validateCreate(storageInfo(info), obj);
    if (errs.length) throw invalidError(info.kind, info.group, obj.metadata.name ?? obj.metadata.generateName ?? '', errs);
    if (info.storage === 'certificatesigningrequests') csrCreateChecks(obj);
    checkRbacWrite(this.caches, info, obj);
    for (const w of this.admission.podSecurity(info, obj)) warnClient(w);
    const meta = obj.metadata;
    meta.uid = randomUUID();
    meta.creationTimestamp = formatTime(this.now());
    delete meta.managedFields;
    delete meta.deletionTimestamp;
    delete meta.selfLink;
    const s = storageInfo(info);
    obj.apiVersion = groupVersion(s);
    obj.kind = s.kind;
    const admitted = this.admission.beforeCreate(info, obj);
    if (opts.dryRun) {
      admitted.rollback();
      return this.out(info, obj);
    }
    try {
      const res = await this.store.create(this.key(info, ns, meta.name!), obj);
      if (!res.ok) throw alreadyExists(info.resource, info.group, meta.name!);
      admitted.commit();
      this.noteWrite(info, res.rev);
      return this.out(info, this.stamp(info, obj, res.rev));
    } catch (e) {
      admitted.rollback();
      throw e;
    }
  }

  async get(info: ResourceInfo, ns: string | undefined, name: string): Promise<KubeObject> {
    const cur = await this.store.get(this.key(info, ns, name));
    if (!cur) throw notFound(info.resource, info.group, name);
    return this.out(info, cur.obj);
  }

  async getStored(info: ResourceInfo, ns: string | undefined, name: string): Promise<StoredObject> {
    const cur = await this.store.get(this.key(info, ns, name));
    if (!cur) throw notFound(info.resource, info.group, name);
    return cur;
  }

  filter(info: ResourceInfo, ns: string | undefined, opts: { labelSelector?: string; fieldSelector?: string }): WatchFilter {
    const fields = parseFieldSelector(opts.fieldSelector, info.storage);
    let namespace = info.namespaced ? ns : undefined;
    // `metadata.namespace=x` on an all-namespaces request narrows it like a path would.
    const nsField = fields.find((f) => f.field === 'metadata.namespace' && f.op === '=');
    if (!namespace && nsField && info.namespaced) namespace = nsField.value;
    return { namespace, labels: parseSelector(opts.labelSelector), fields };
  }

  /** LIST from the watch cache, after it has caught up with this api-server's own writes. */
  async list(info: ResourceInfo, ns: string | undefined, opts: ListOptions): Promise<ListResult> {
    const cache = this.cache(info);
    await cache.waitFor(this.written.get(info.storage) ?? 0);
    const filter = this.filter(info, ns, opts);
    let afterKey: string | undefined;
    let rev = cache.rev;
    if (opts.continue) {
      try {
        const tok: unknown = JSON.parse(Buffer.from(opts.continue, 'base64url').toString());
        if (!isPlainObject(tok) || typeof tok.start !== 'string' || !tok.start.startsWith(cache.prefix)) throw new Error('bad');
        afterKey = tok.start;
        rev = Number(tok.rv);
      } catch {
        throw badRequest('continue key is not valid: invalid continue token');
      }
    }
    const page = cache.list(filter, { afterKey, limit: opts.limit && opts.limit > 0 ? opts.limit : undefined });
    const items = page.items.map((o) => this.out(info, o));
    const cont = page.more ? Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: rev, start: page.lastKey })).toString('base64url') : undefined;
    return { items, resourceVersion: String(rev), continue: cont };
  }

  /**
   * WATCH from the cache (or etcd history for old revisions). With
   * `sendInitialEvents` (the watch-list protocol) the state comes first,
   * at least as new as resourceVersion, ended by a bookmark; `false` with
   * no resourceVersion starts from now, without the state.
   */
  async watch(
    info: ResourceInfo,
    ns: string | undefined,
    opts: ListOptions & { resourceVersion?: string; sendInitialEvents?: boolean },
    sink: WatchSink,
  ): Promise<ActiveWatch> {
    const cache = this.cache(info);
    const filter = this.filter(info, ns, opts);
    const rv = opts.resourceVersion;
    if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv)) throw badRequest(`invalid resource version: "${rv}"`);
    let from = rv ? Number(rv) : 0;
    const conv: WatchSink = info.storageVersion
      ? sink
      : { send: (t, o) => sink.send(t, t === 'BOOKMARK' ? o : this.out(info, o)), close: (e) => sink.close(e) };
    if (opts.sendInitialEvents) {
      await cache.waitFor(Math.max(from, this.written.get(info.storage) ?? 0));
      return cache.watch(0, filter, conv, { initialEventsEnd: true });
    }
    if (from === 0) await cache.waitFor(this.written.get(info.storage) ?? 0);
    if (from === 0 && opts.sendInitialEvents === false) from = cache.rev;
    return cache.watch(from, filter, conv);
  }

  /**
   * Read-modify-write with optimistic concurrency (GuaranteedUpdate).
   * `mutate` gets the current stored object and returns the next one (or
   * the same object for "no change"). With `expectedRV`, a changed object is
   * a 409; without, the update is retried on the newer object.
   */
  async guaranteedUpdate(
    info: ResourceInfo,
    ns: string | undefined,
    name: string,
    mutate: (cur: KubeObject) => KubeObject | Promise<KubeObject>,
    opts: { expectedRV?: string; dryRun?: boolean; validate?: boolean; subresource?: string } = {},
  ): Promise<KubeObject> {
    const key = this.key(info, ns, name);
    let cur = await this.store.get(key);
    for (let attempt = 0; ; attempt++) {
      if (!cur) throw notFound(info.resource, info.group, name);
      if (opts.expectedRV && opts.expectedRV !== String(cur.rev)) throw conflict(info.resource, info.group, name, MODIFIED_CONFLICT);
      const next = await mutate(structuredClone(cur.obj));
      if (jsonEqual(next, cur.obj)) return this.out(info, cur.obj);
      // Internal writes that change one checked field (pods/binding) skip whole-object validation, as Kubernetes' binding does.
      const errs = opts.validate === false ? [] : validateUpdate(storageInfo(info), next, cur.obj);
      if (errs.length) throw invalidError(info.kind, info.group, name, errs);
      checkRbacWrite(this.caches, info, next);
      this.admission.nodeRestriction('UPDATE', info, opts.subresource, next, cur.obj);
      if (info.storage === 'namespaces') for (const w of this.admission.podSecurity(info, next, cur.obj)) warnClient(w);
      const admitted = this.admission.beforeUpdate(info, next, cur.obj);
      if (opts.dryRun) {
        admitted.rollback();
        return this.out(info, next);
      }
      // The last finalizer gone from an object being deleted: it goes now (a namespace also waits for spec.finalizers).
      const finished =
        next.metadata.deletionTimestamp &&
        !(next.metadata.finalizers ?? []).length &&
        !next.metadata.deletionGracePeriodSeconds &&
        !(info.storage === 'namespaces' && namespaceFinalizers(next).length);
      let res;
      try {
        res = finished ? await this.store.delete(key, cur.rev) : await this.store.update(key, next, cur.rev);
      } catch (e) {
        admitted.rollback();
        throw e;
      }
      if (res.ok) {
        admitted.commit();
        if (finished) this.admission.afterDelete(info, next);
        this.noteWrite(info, res.rev);
        return this.out(info, this.stamp(info, next, res.rev));
      }
      admitted.rollback();
      if (opts.expectedRV || attempt > 20) throw conflict(info.resource, info.group, name, MODIFIED_CONFLICT);
      cur = res.current;
    }
  }

  /** PUT of the main resource or its status. */
  async update(
    info: ResourceInfo,
    ns: string | undefined,
    name: string,
    body: KubeObject,
    subresource?: string,
    opts: { dryRun?: boolean } = {},
  ): Promise<KubeObject> {
    if (body.metadata?.name && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (info.namespaced && body.metadata?.namespace && body.metadata.namespace !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const incoming = toStorage(info, body);
    return this.guaranteedUpdate(info, ns, name, (cur) => this.merge(info, cur, incoming, subresource), {
      expectedRV: body.metadata?.resourceVersion || undefined,
      dryRun: opts.dryRun,
      subresource,
    });
  }

  /** The stored object after a write of `incoming` (system fields kept, generation bumped). */
  merge(info: ResourceInfo, cur: KubeObject, incoming: KubeObject, subresource?: string): KubeObject {
    if (info.storage === 'certificatesigningrequests' && (subresource === 'status' || subresource === 'approval')) {
      return csrMergeSubresource(cur, incoming, subresource, formatTime(this.now()));
    }
    if (subresource === 'status') {
      return withZeroStatus(info, { ...cur, status: incoming.status as unknown, metadata: statusUpdateMetadata(info, cur, incoming) });
    }
    if (subresource === 'finalize') {
      return { ...cur, spec: { ...(cur as Namespace).spec, finalizers: namespaceFinalizers(incoming) } };
    }
    let next = applyDefaults(storageInfo(info), { ...incoming, apiVersion: cur.apiVersion, kind: cur.kind });
    // The status of a kind that has one is written only through its status subresource.
    if (hasStatus(info)) next = withZeroStatus(info, { ...next, status: cur.status as unknown });
    // A namespace's spec.finalizers change only through /finalize (Kubernetes' NamespaceStrategy).
    if (info.storage === 'namespaces') next.spec = { ...(next as Namespace).spec, finalizers: namespaceFinalizers(cur) };
    // A Service changing type loses what only the old type used, before validation (the Service strategy's PrepareForUpdate).
    if (info.storage === 'services') next = dropTypeDependentFields(next, cur);
    const m = { ...(next.metadata ?? {}) };
    m.name = cur.metadata.name;
    if (cur.metadata.namespace) m.namespace = cur.metadata.namespace;
    m.uid = cur.metadata.uid;
    m.creationTimestamp = cur.metadata.creationTimestamp;
    m.resourceVersion = cur.metadata.resourceVersion;
    if (cur.metadata.deletionTimestamp) {
      m.deletionTimestamp = cur.metadata.deletionTimestamp;
      m.deletionGracePeriodSeconds = cur.metadata.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    delete m.managedFields;
    delete m.generateName;
    if (cur.metadata.generateName) m.generateName = cur.metadata.generateName;
    m.generation = cur.metadata.generation;
    if (bumpsGeneration(info, { ...next, metadata: m }, cur)) m.generation = (cur.metadata.generation ?? 0) + 1;
    if (m.generation === undefined) delete m.generation;
    next.metadata = m;
    return next;
  }

  /** DELETE with preconditions, grace periods, propagation finalizers. */
  async delete(info: ResourceInfo, ns: string | undefined, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    const key = this.key(info, ns, name);
    this.admission.validateDelete(info, name);
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.store.get(key);
      if (!cur) throw notFound(info.resource, info.group, name);
      this.admission.nodeRestriction('DELETE', info, undefined, undefined, cur.obj);
      const pre = options.preconditions;
      if (pre?.uid && pre.uid !== cur.obj.metadata.uid) {
        throw conflict(info.resource, info.group, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.obj.metadata.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== String(cur.rev)) {
        throw conflict(
          info.resource,
          info.group,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.rev}`,
        );
      }
      const next = planDelete(info, structuredClone(cur.obj), options, this.now());
      if (options.dryRun?.includes('All')) return this.out(info, next ?? cur.obj);
      const res = next ? await this.store.update(key, next, cur.rev) : await this.store.delete(key, cur.rev);
      if (res.ok) {
        this.noteWrite(info, res.rev);
        if (!next) {
          this.admission.afterDelete(info, cur.obj);
          return this.out(info, this.stamp(info, cur.obj, res.rev));
        }
        return this.out(info, this.stamp(info, next, res.rev));
      }
    }
    throw conflict(info.resource, info.group, name, MODIFIED_CONFLICT);
  }

  /** DELETE on a collection: every object the selectors match. */
  async deleteCollection(info: ResourceInfo, ns: string | undefined, opts: ListOptions, options: DeleteOptions): Promise<KubeObject[]> {
    const { items } = await this.list(info, ns, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    const out: KubeObject[] = [];
    for (const item of items) {
      try {
        out.push(await this.delete(info, item.metadata.namespace, item.metadata.name!, options));
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    }
    return out;
  }
}
