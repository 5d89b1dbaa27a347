/**
 * Typed views of the client, the informers and their listers. The api-server
 * and the cache hand out plain Kubernetes JSON (`KubeObject`); a resource's
 * objects are all of one kind, so the views give them that kind once, here,
 * and the controllers work with typed objects (kubernetes-types) only.
 */
import type { ClusterRole } from 'kubernetes-types/rbac/v1.js';
import type { DeleteOptions, KubeObject } from '@kemu/api';
import type { ApiClient, Informer, InformerFactory, InformerOptions, ListResult, ResourceId } from '@kemu/client';
import type { DaemonSet, Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { ConfigMap, Endpoints, Namespace, Node, Pod, ReplicationController, ResourceQuota, Service, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

/** An object as the cache and the API give it: metadata is always there. */
export type Obj<T extends { metadata?: ObjectMeta }> = T & { metadata: ObjectMeta };

/** The kind of each resource the controllers read or write by name. */
export interface Kinds {
  pods: Pod;
  nodes: Node;
  namespaces: Namespace;
  serviceaccounts: ServiceAccount;
  replicationcontrollers: ReplicationController;
  replicasets: ReplicaSet;
  deployments: Deployment;
  daemonsets: DaemonSet;
  services: Service;
  endpoints: Endpoints;
  endpointslices: EndpointSlice;
  leases: Lease;
  configmaps: ConfigMap;
  resourcequotas: ResourceQuota;
  clusterroles: ClusterRole;
  certificatesigningrequests: CertificateSigningRequest;
}

/** A resource of a known kind (the entries of `R`). */
export type KindId<K extends keyof Kinds = keyof Kinds> = ResourceId & { resource: K };

/**
 * The one conversion from what the cache or the API returned: objects of a
 * resource are of that resource's kind, and always carry metadata.
 */
function view<T extends { metadata?: ObjectMeta }>(o: KubeObject): Obj<T> {
  return o as Obj<T>;
}

/** Back to what the client writes: every object we write has metadata. */
export const toKube = <T extends { metadata?: ObjectMeta }>(o: T): KubeObject => ({ ...o, metadata: { ...(o.metadata ?? {}) } });

/** The typed, read-only view of an informer's cache. */
export interface TypedLister<T extends { metadata?: ObjectMeta }> {
  get(key: string): Obj<T> | undefined;
  getNamed(namespace: string | undefined, name: string): Obj<T> | undefined;
  list(namespace?: string): Obj<T>[];
  byIndex(index: string, value: string): Obj<T>[];
}

export interface TypedHandlers<T extends { metadata?: ObjectMeta }> {
  add?: (obj: Obj<T>) => void;
  update?: (oldObj: Obj<T>, newObj: Obj<T>) => void;
  delete?: (obj: Obj<T>) => void;
}

/** An informer whose cache and handlers speak the resource's kind. */
export class TypedInformer<T extends { metadata?: ObjectMeta }> {
  readonly lister: TypedLister<T>;

  constructor(readonly informer: Informer) {
    const l = informer.lister;
    this.lister = {
      get: (key) => {
        const o = l.get(key);
        return o && view<T>(o);
      },
      getNamed: (namespace, name) => {
        const o = l.getNamed(namespace, name);
        return o && view<T>(o);
      },
      list: (namespace) => l.list(namespace).map((o) => view<T>(o)),
      byIndex: (index, value) => l.byIndex(index, value).map((o) => view<T>(o)),
    };
  }

  on(h: TypedHandlers<T>): this {
    const { add, update, delete: del } = h;
    this.informer.on({
      add: add && ((o) => add(view<T>(o))),
      update: update && ((a, b) => update(view<T>(a), view<T>(b))),
      delete: del && ((o) => del(view<T>(o))),
    });
    return this;
  }
}

/** The shared informer of a resource, typed by its kind. */
export function informerFor<K extends keyof Kinds>(informers: InformerFactory, r: KindId<K>, opts?: InformerOptions): TypedInformer<Kinds[K]> {
  return new TypedInformer<Kinds[K]>(informers.for(r, opts));
}

/** The client's verbs for one resource (and namespace), typed by its kind. */
export class TypedClient<T extends { metadata?: ObjectMeta }> {
  constructor(
    private client: ApiClient,
    private r: ResourceId,
  ) {}

  async list(opts?: Parameters<ApiClient['list']>[1]): Promise<ListResult<Obj<T>>> {
    const res = await this.client.list(this.r, opts);
    return { ...res, items: res.items.map((o) => view<T>(o)) };
  }

  async get(name: string): Promise<Obj<T>> {
    return view<T>(await this.client.get(this.r, name));
  }

  async create(obj: T): Promise<Obj<T>> {
    return view<T>(await this.client.create(this.r, toKube(obj)));
  }

  async update(obj: T, subresource = ''): Promise<Obj<T>> {
    return view<T>(await this.client.update(this.r, toKube(obj), subresource));
  }

  async patch(name: string, patch: unknown, type?: Parameters<ApiClient['patch']>[3], subresource = ''): Promise<Obj<T>> {
    return view<T>(await this.client.patch(this.r, name, patch, type, subresource));
  }

  async delete(name: string, options?: DeleteOptions): Promise<Obj<T>> {
    return view<T>(await this.client.delete(this.r, name, options));
  }
}

/** A typed client for a resource, in a namespace (none for cluster-scoped resources). */
export function clientFor<K extends keyof Kinds>(client: ApiClient, r: KindId<K>, namespace?: string): TypedClient<Kinds[K]> {
  return new TypedClient<Kinds[K]>(client, { ...r, namespace });
}
