/**
 * The Endpoints controller: for each Service with a selector, a v1 Endpoints
 * object of the same name listing the selected pods' addresses and ports
 * (kube-controller-manager's endpoint controller, as of 1.32). Services
 * without a selector get nothing from it: their Endpoints are the user's.
 */
import { isAlreadyExists, isNotFound } from '@kemu/api';
import { keyOf, splitKey, WorkQueue, type Informer } from '@kemu/client';
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { desiredSubsets, endpointsFor } from './endpoints-compute.js';
import { SelectedPods } from './endpoint-informers.js';
import { ANNOTATION_LEADER, StaleCacheError, isNamespaceTerminating, toKube } from './endpoint-util.js';

export class EndpointsController implements Controller {
  readonly name = 'endpoint';
  private queue = new WorkQueue();
  private source: SelectedPods;
  private endpoints: Informer;
  /** key → the resourceVersion our last update replaced: seeing it again in the cache means the cache is behind. */
  private stale = new Map<string, string>();

  constructor(private ctx: ControllerContext) {
    this.source = new SelectedPods(ctx.informers, (k) => this.queue.add(k));
    this.endpoints = ctx.informers.for(R.endpoints);
    // Someone deleted an Endpoints we keep: write it again.
    this.endpoints.on({ delete: (o) => this.queue.add(keyOf(o)) });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    // checkLeftoverEndpoints: an Endpoints whose Service went while we were away is deleted by its sync.
    for (const ep of this.endpoints.lister.list()) if (!(ANNOTATION_LEADER in (ep.metadata.annotations ?? {}))) this.queue.add(keyOf(ep));
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const ref = { ...R.endpoints, namespace };
    const svc = this.source.service(key);
    if (!svc) {
      this.source.forget(key);
      // The Service is gone: so are its Endpoints (as in 1.32, whoever wrote them).
      this.stale.delete(key);
      try {
        await this.ctx.client.delete(ref, name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    const pods = this.source.podsOf(svc);
    if (!pods) return;
    const currentObj = this.endpoints.lister.get(key);
    if (currentObj && this.stale.get(key) === currentObj.metadata.resourceVersion) throw new StaleCacheError(`endpoints ${key}`);
    const triggerTime = this.source.triggerTime(svc, pods);
    const current = currentObj as Endpoints | undefined;
    const next = endpointsFor(svc, desiredSubsets(svc, pods), current, triggerTime);
    if (!next) return;
    try {
      if (!current) {
        await this.ctx.client.create(ref, toKube(next));
      } else {
        const updated = await this.ctx.client.update(ref, toKube(next));
        if (updated.metadata.resourceVersion !== current.metadata?.resourceVersion) this.stale.set(key, current.metadata!.resourceVersion!);
      }
    } catch (e) {
      // Created meanwhile (a user, or our own create whose event is late): the next sync compares with it.
      if (isAlreadyExists(e)) throw new StaleCacheError(`endpoints ${key}`);
      if (!current && isNamespaceTerminating(e)) return;
      const verb = current ? 'update' : 'create';
      void this.ctx.recorder.event(
        toKube(next),
        'Warning',
        current ? 'FailedToUpdateEndpoint' : 'FailedToCreateEndpoint',
        `Failed to ${verb} endpoint ${key}: ${(e as Error).message}`,
      );
      throw e;
    }
  }
}

export const endpointsController = (ctx: ControllerContext) => new EndpointsController(ctx);
