/**
 * An in-memory stand-in for the api-server's gRPC client, for controller
 * fixtures: seed objects, run `sync(key)`, assert the calls it made.
 * Writes go through the same patch functions the api-server uses.
 */
import { randomUUID } from 'node:crypto';
import { applyMergePatch, applyStrategicMergePatch, notFound, alreadyExists, type KubeObject } from '@kemu/api';
import { EventRecorder, InformerFactory, type ApiClient, type ResourceId } from '@kemu/client';
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

export class FakeApi {
  objects = new Map<string, KubeObject>();
  calls: Call[] = [];
  private key = (r: ResourceId, ns: string | undefined, name: string) => `${r.resource}/${ns ?? ''}/${name}`;

  seed(r: ResourceId, obj: KubeObject): KubeObject {
    const o = structuredClone(obj);
    o.metadata.uid ??= randomUUID();
    o.metadata.resourceVersion = String(++rv);
    o.metadata.creationTimestamp ??= new Date(Date.now() - 60_000).toISOString();
    this.objects.set(this.key(r, o.metadata.namespace, o.metadata.name!), o);
    return o;
  }

  /** Calls other than events. */
  writes(): Call[] {
    return this.calls.filter((c) => c.resource !== 'events');
  }

  client(): ApiClient {
    const api = this;
    const list = (r: ResourceId) => [...api.objects.entries()].filter(([k]) => k.startsWith(`${r.resource}/${r.namespace ?? ''}`)).map(([, o]) => structuredClone(o));
    const fake = {
      async list(r: ResourceId) {
        return { items: list(r).filter((o) => !r.namespace || o.metadata.namespace === r.namespace), resourceVersion: String(rv) };
      },
      async get(r: ResourceId, name: string) {
        const o = api.objects.get(api.key(r, r.namespace, name));
        if (!o) throw notFound(r.resource, r.group ?? '', name);
        return structuredClone(o);
      },
      async create(r: ResourceId, obj: KubeObject, opts: { subresource?: string; name?: string } = {}) {
        const o = structuredClone(obj);
        if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
        const name = opts.name || o.metadata.name!;
        api.calls.push({ verb: 'create', resource: r.resource, namespace: r.namespace, name, body: obj, subresource: opts.subresource });
        if (opts.subresource) return o;
        if (api.objects.has(api.key(r, r.namespace, name))) throw alreadyExists(r.resource, r.group ?? '', name);
        o.metadata.namespace = r.namespace;
        return api.seed(r, o);
      },
      async update(r: ResourceId, obj: KubeObject, subresource = '') {
        api.calls.push({ verb: 'update', resource: r.resource, namespace: r.namespace, name: obj.metadata.name!, body: obj, subresource: subresource || undefined });
        return api.seed(r, obj);
      },
      async patch(r: ResourceId, name: string, patch: unknown, type = 'application/merge-patch+json', subresource = '') {
        api.calls.push({ verb: 'patch', resource: r.resource, namespace: r.namespace, name, body: patch, subresource: subresource || undefined });
        const cur = await fake.get(r, name);
        const next = (type === 'application/merge-patch+json' ? applyMergePatch(cur, patch) : applyStrategicMergePatch(cur, patch)) as KubeObject;
        return api.seed(r, next);
      },
      async delete(r: ResourceId, name: string, options: unknown = {}) {
        api.calls.push({ verb: 'delete', resource: r.resource, namespace: r.namespace, name, body: options });
        const o = api.objects.get(api.key(r, r.namespace, name));
        if (!o) throw notFound(r.resource, r.group ?? '', name);
        api.objects.delete(api.key(r, r.namespace, name));
        return o;
      },
      watch(_r: ResourceId, opts: { signal?: AbortSignal } = {}) {
        return {
          async *[Symbol.asyncIterator]() {
            await new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve(), { once: true }));
          },
        };
      },
      close() {},
    };
    return fake as unknown as ApiClient;
  }

  /** A controller context whose informers list what was seeded. */
  context(): { ctx: ControllerContext; informers: InformerFactory } {
    const client = this.client();
    const informers = new InformerFactory(client);
    return { ctx: { client, informers, recorder: new EventRecorder(client, { component: 'test' }), log: pino({ level: 'silent' }), now: () => new Date() }, informers };
  }
}
