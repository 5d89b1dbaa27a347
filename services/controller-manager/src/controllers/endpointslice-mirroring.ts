/**
 * The EndpointSlice mirroring controller: a Service without a selector has
 * the Endpoints its user writes; this controller mirrors them into
 * EndpointSlices, so that consumers that read only slices (kube-proxy, DNS,
 * `kubectl describe svc`) see them too. Decisions in endpointslice-mirror.ts.
 */
import type { KubeObject } from '@kemu/api';
import { keyOf, splitKey, WorkQueue, type Informer } from '@kemu/client';
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { ManagedSlices, watchServices } from './endpoint-informers.js';
import { StaleCacheError, asService, isNamespaceTerminating, hasSelector } from './endpoint-util.js';
import { MAX_ENDPOINTS_PER_SUBSET, MIRRORING_CONTROLLER, mirrorSlices, shouldMirror } from './endpointslice-mirror.js';

const asEndpoints = (o: KubeObject) => o as Endpoints;

export class EndpointSliceMirroringController implements Controller {
  readonly name = 'endpointslicemirroring';
  private queue = new WorkQueue();
  private services: Informer;
  private endpoints: Informer;
  private slices: ManagedSlices;

  constructor(
    private ctx: ControllerContext,
    private maxPerSubset = MAX_ENDPOINTS_PER_SUBSET,
  ) {
    const enqueue = (k: string) => this.queue.add(k);
    this.services = watchServices(ctx.informers, enqueue);
    this.endpoints = ctx.informers.for(R.endpoints);
    this.endpoints.on({
      add: (o) => shouldMirror(asEndpoints(o)) && enqueue(keyOf(o)),
      // Either side mirrored: a label turning skip-mirror on must remove the slices.
      update: (a, b) => (shouldMirror(asEndpoints(a)) || shouldMirror(asEndpoints(b))) && enqueue(keyOf(b)),
      delete: (o) => enqueue(keyOf(o)),
    });
    this.slices = new ManagedSlices(ctx, MIRRORING_CONTROLLER, enqueue);
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  /**
   * The slices mirrored from this Endpoints. Kubernetes goes by the labels alone; kemu's api-server labels
   * its own `kubernetes` slice as mirrored, so a slice must also be controlled by an Endpoints to be ours
   * to delete (every slice this controller writes is).
   */
  private mirrored(namespace: string | undefined, name: string): EndpointSlice[] {
    return this.slices.labelledFor(namespace, name).filter((s) => (s.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Endpoints' && o.controller));
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.lister.get(key);
    const epObj = this.endpoints.lister.get(key);
    // Nothing to mirror (no Service, a Service with a selector — the EndpointSlice controller's —, no
    // Endpoints, or one that opts out): whatever was mirrored goes.
    if (!svc || hasSelector(asService(svc)) || !epObj || !shouldMirror(asEndpoints(epObj))) {
      this.slices.tracker.deleteService(key);
      return this.deleteAll(this.mirrored(namespace, name));
    }
    const existing = this.mirrored(namespace, name).filter((s) => !s.metadata?.deletionTimestamp);
    if (this.slices.tracker.stale(key, epObj.metadata.uid, existing)) throw new StaleCacheError(`EndpointSlice (endpoints ${key})`);
    const plan = mirrorSlices(asEndpoints(epObj), existing, this.maxPerSubset);
    if (plan.invalid)
      void this.ctx.recorder.event(epObj, 'Warning', 'InvalidIPAddress', `Skipped ${plan.invalid} invalid IP addresses when mirroring to EndpointSlices`);
    if (plan.overCapacity)
      void this.ctx.recorder.event(
        epObj,
        'Warning',
        'TooManyAddressesToMirror',
        `A max of ${this.maxPerSubset} addresses can be mirrored to EndpointSlices per Endpoints subset. ${plan.overCapacity} addresses were skipped`,
      );
    try {
      if (!epObj.metadata.deletionTimestamp) for (const s of plan.create) await this.slices.create(s);
    } catch (e) {
      if (isNamespaceTerminating(e)) return;
      throw e;
    }
    for (const s of plan.update) await this.slices.update(s);
    await this.deleteAll(plan.delete);
  }

  private async deleteAll(slices: readonly EndpointSlice[]): Promise<void> {
    for (const s of slices) await this.slices.delete(s);
  }
}

export const endpointSliceMirroringController = (ctx: ControllerContext) => new EndpointSliceMirroringController(ctx);
