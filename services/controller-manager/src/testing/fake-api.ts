/**
 * An in-memory stand-in for the api-server's gRPC client, for controller
 * fixtures: seed objects, run `sync(key)`, assert the calls it made.
 * Writes go through the same patch functions the api-server uses.
 *
 * Every change (a write through the client, `seed`, `remove`) is also a watch
 * event, and `inject` adds raw ones, so controllers' informers see them and a
 * test covers handler → queue → expectations as in a cluster. A watch replays
 * what happened after the resourceVersion it starts from, as the api-server's
 * watch cache does, so nothing between an informer's list and its watch is lost.
 *
 * Deleting a pod bound to a node only marks it (deletionTimestamp, a MODIFIED
 * event), as the api-server does for a graceful delete: the kubelet removes it
 * later — here the test, with `remove`. Unbound pods and `gracePeriodSeconds: 0`
 * delete at once.
 */
import { randomUUID } from 'node:crypto';
import { applyMergePatch, applyStrategicMergePatch, notFound, alreadyExists, type KubeObject, type WatchEvent } from '@kemu/api';
import { EventRecorder, InformerFactory, type ApiClient, type ResourceId } from '@kemu/client';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { pino } from 'pino';
import type { ControllerContext } from '../context.js';

export interface Call {
  verb: 'create' | 'update' | 'patch' | 'delete';
  resource: string;
  namespace?: string;
  name: string;
  body?: unknown;
  subresource?: string;
}

let rv = 100;

interface LoggedEvent {
  rv: number;
  resource: string;
  namespace?: string;
  event: WatchEvent;
}

export class FakeApi {
  objects = new Map<string, KubeObject>();
  calls: Call[] = [];
  /** Every change, in order: what watches replay and follow. */
  private log: LoggedEvent[] = [];
  private wakers = new Set<() => void>();
  private key = (r: ResourceId, ns: string | undefined, name: string) => `${r.resource}/${ns ?? ''}/${name}`;

  /** Store an object (create or replace) and tell watchers (ADDED or MODIFIED). */
  seed(r: ResourceId, obj: KubeObject): KubeObject {
    const o = structuredClone(obj);
    o.metadata.uid ??= randomUUID();
    o.metadata.resourceVersion = String(++rv);
    o.metadata.creationTimestamp ??= new Date(Date.now() - 60_000).toISOString();
    const k = this.key(r, o.metadata.namespace, o.metadata.name!);
    const type = this.objects.has(k) ? 'MODIFIED' : 'ADDED';
    this.objects.set(k, o);
    this.publish(r.resource, { type, object: o });
    return o;
  }

  /** Remove an object for good (as the kubelet finishing a pod, or a finalizer-free delete) and tell watchers (DELETED). */
  remove(r: ResourceId, namespace: string | undefined, name: string): KubeObject | undefined {
    const k = this.key(r, namespace, name);
    const o = this.objects.get(k);
    if (!o) return undefined;
    this.objects.delete(k);
    const gone = { ...structuredClone(o), metadata: { ...structuredClone(o.metadata), resourceVersion: String(++rv) } };
    this.publish(r.resource, { type: 'DELETED', object: gone });
    return gone;
  }

  /** Deliver an event to watchers of a resource without changing the store (a test's own event, an ERROR, a BOOKMARK). */
  inject(r: ResourceId, event: WatchEvent): void {
    const e = structuredClone(event);
    if (e.object?.metadata) e.object.metadata.resourceVersion ??= String(++rv);
    this.publish(r.resource, e, Number(e.object?.metadata?.resourceVersion) || ++rv);
  }

  private publish(resource: string, event: WatchEvent, at = Number(event.object.metadata.resourceVersion)): void {
    this.log.push({ rv: at, resource, namespace: event.object.metadata?.namespace, event: structuredClone(event) });
    for (const wake of [...this.wakers]) wake();
  }

  /** A watch stream: the events of `r` after resourceVersion `from`, then each new one, until the signal aborts. */
  private async *stream(r: ResourceId, from: number, signal?: AbortSignal): AsyncGenerator<WatchEvent> {
    let seen = from;
    while (!signal?.aborted) {
      const next = this.log.find((e) => e.rv > seen && e.resource === r.resource && (!r.namespace || e.namespace === r.namespace));
      if (next) {
        seen = next.rv;
        yield structuredClone(next.event);
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.wakers.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.wakers.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** Calls other than events; with `match`, only those that agree with it on every field it gives. */
  writes(match: Partial<Pick<Call, 'verb' | 'resource' | 'name' | 'subresource'>> = {}): Call[] {
    const fits = (c: Call) => Object.entries(match).every(([k, v]) => c[k as keyof typeof match] === v);
    return this.calls.filter((c) => c.resource !== 'events' && fits(c));
  }

  /** The names of the objects those writes went to, in order. */
  written(match: Parameters<FakeApi['writes']>[0] = {}): string[] {
    return this.writes(match).map((c) => c.name);
  }

  client(): ApiClient {
    // A promise of what `f` returns, rejected when it throws, as the real client's calls are: callers `.catch()` them.
    const settle = <T>(f: () => T): Promise<T> => new Promise((resolve) => resolve(f()));
    const list = (r: ResourceId) =>
      [...this.objects.entries()].filter(([k]) => k.startsWith(`${r.resource}/${r.namespace ?? ''}`)).map(([, o]) => structuredClone(o));
    const get = (r: ResourceId, name: string) => {
      const o = this.objects.get(this.key(r, r.namespace, name));
      if (!o) throw notFound(r.resource, r.group ?? '', name);
      return structuredClone(o);
    };
    const fake = {
      list: (r: ResourceId) =>
        settle(() => ({ items: list(r).filter((o) => !r.namespace || o.metadata.namespace === r.namespace), resourceVersion: String(rv) })),
      get: (r: ResourceId, name: string) => settle(() => get(r, name)),
      create: (r: ResourceId, obj: KubeObject, opts: { subresource?: string; name?: string } = {}) =>
        settle(() => {
          const o = structuredClone(obj);
          if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
          const name = opts.name || o.metadata.name!;
          this.calls.push({ verb: 'create', resource: r.resource, namespace: r.namespace, name, body: obj, subresource: opts.subresource });
          if (opts.subresource) return o;
          if (this.objects.has(this.key(r, r.namespace, name))) throw alreadyExists(r.resource, r.group ?? '', name);
          o.metadata.namespace = r.namespace;
          return this.seed(r, o);
        }),
      update: (r: ResourceId, obj: KubeObject, subresource = '') =>
        settle(() => {
          this.calls.push({
            verb: 'update',
            resource: r.resource,
            namespace: r.namespace,
            name: obj.metadata.name!,
            body: obj,
            subresource: subresource || undefined,
          });
          return this.seed(r, obj);
        }),
      patch: (r: ResourceId, name: string, patch: unknown, type = 'application/merge-patch+json', subresource = '') =>
        settle(() => {
          this.calls.push({ verb: 'patch', resource: r.resource, namespace: r.namespace, name, body: patch, subresource: subresource || undefined });
          const cur = get(r, name);
          const next = (type === 'application/merge-patch+json' ? applyMergePatch(cur, patch) : applyStrategicMergePatch(cur, patch)) as KubeObject;
          return this.seed(r, next);
        }),
      delete: (r: ResourceId, name: string, options: { gracePeriodSeconds?: number } = {}) =>
        settle(() => {
          this.calls.push({ verb: 'delete', resource: r.resource, namespace: r.namespace, name, body: options });
          const o = this.objects.get(this.key(r, r.namespace, name));
          if (!o) throw notFound(r.resource, r.group ?? '', name);
          // Only pods are deleted gracefully, and the objects stored under pods are Pods.
          const podSpec = r.resource === 'pods' ? (o as Pod).spec : undefined;
          const graceful = !!podSpec?.nodeName && options.gracePeriodSeconds !== 0;
          if (graceful) {
            if (o.metadata.deletionTimestamp) return structuredClone(o);
            const grace = options.gracePeriodSeconds ?? podSpec?.terminationGracePeriodSeconds ?? 30;
            return this.seed(r, {
              ...o,
              metadata: { ...o.metadata, deletionTimestamp: new Date(Date.now() + grace * 1000).toISOString(), deletionGracePeriodSeconds: grace },
            });
          }
          return this.remove(r, r.namespace, name)!;
        }),
      watch: (r: ResourceId, opts: { resourceVersion?: string; signal?: AbortSignal } = {}) => ({
        [Symbol.asyncIterator]: () => this.stream(r, Number(opts.resourceVersion) || 0, opts.signal),
      }),
      close() {},
    };
    return fake as unknown as ApiClient;
  }

  /** A controller context whose informers list what was seeded. */
  context(): { ctx: ControllerContext; informers: InformerFactory } {
    const client = this.client();
    const informers = new InformerFactory(client);
    return {
      ctx: { client, informers, recorder: new EventRecorder(client, { component: 'test' }), log: pino({ level: 'silent' }), now: () => new Date() },
      informers,
    };
  }
}
