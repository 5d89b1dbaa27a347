/**
 * The EndpointSlice mirroring controller: a Service without a selector has
 * the Endpoints its user writes; this controller mirrors them into
 * EndpointSlices, so that consumers that read only slices (kube-proxy, DNS,
 * `kubectl describe svc`) see them too. Decisions in endpointslice-mirror.ts.
 */
import { isNotFound, type KubeObject } from '@kemu/api';
import { keyOf, splitKey, WorkQueue, type Informer } from '@kemu/client';
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { LABEL_MANAGED_BY, LABEL_SERVICE_NAME, StaleCacheError, asService, isNamespaceTerminating, hasSelector, toKube } from './endpoint-util.js';
import { MAX_ENDPOINTS_PER_SUBSET, MIRRORING_CONTROLLER, mirrorSlices, shouldMirror } from './endpointslice-mirror.js';
import { SliceTracker } from './slice-tracker.js';

const asSlice = (o: KubeObject) => o as EndpointSlice;
const asEndpoints = (o: KubeObject) => o as Endpoints;
const ours = (s: EndpointSlice) => s.metadata?.labels?.[LABEL_MANAGED_BY] === MIRRORING_CONTROLLER;
const keyOfSlice = (s: EndpointSlice) => {
  const name = s.metadata?.labels?.[LABEL_SERVICE_NAME];
  return name ? `${s.metadata?.namespace}/${name}` : undefined;
};

export class EndpointSliceMirroringController implements Controller {
  readonly name = 'endpointslicemirroring';
  private queue = new WorkQueue();
  private services: Informer;
  private endpoints: Informer;
  private slices: Informer;
  private tracker = new SliceTracker();

  constructor(
    private ctx: ControllerContext,
    private maxPerSubset = MAX_ENDPOINTS_PER_SUBSET,
  ) {
    this.services = ctx.informers.for(R.services);
    this.endpoints = ctx.informers.for(R.endpoints);
    this.slices = ctx.informers.for(R.endpointslices);
    const enqueue = (o: KubeObject) => this.queue.add(keyOf(o));
    this.services.on({ add: enqueue, update: (_a, b) => enqueue(b), delete: enqueue });
    this.endpoints.on({
      add: (o) => shouldMirror(asEndpoints(o)) && enqueue(o),
      // Either side mirrored: a label turning skip-mirror on must remove the slices.
      update: (a, b) => (shouldMirror(asEndpoints(a)) || shouldMirror(asEndpoints(b))) && enqueue(b),
      delete: enqueue,
    });
    const sliceChanged = (s: EndpointSlice) => {
      const key = keyOfSlice(s);
      if (key) this.queue.add(key);
    };
    this.slices.on({
      add: (o) => ours(asSlice(o)) && this.tracker.shouldSync(asSlice(o)) && sliceChanged(asSlice(o)),
      update: (a, b) => {
        const [prev, s] = [asSlice(a), asSlice(b)];
        if (ours(prev) !== ours(s) || (ours(s) && this.tracker.shouldSync(s))) sliceChanged(s);
      },
      delete: (o) => {
        const s = asSlice(o);
        if (ours(s) && this.tracker.has(s) && !this.tracker.handleDeletion(s)) sliceChanged(s);
      },
    });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  /**
   * The slices mirrored from this Endpoints. Kubernetes goes by the labels alone; kemu's api-server labels
   * its own `kubernetes` slice as mirrored, so a slice must also be controlled by an Endpoints to be ours
   * to delete (every slice this controller writes is).
   */
  private mirrored(namespace: string, name: string): EndpointSlice[] {
    return this.slices.lister
      .list(namespace)
      .map(asSlice)
      .filter(
        (s) =>
          s.metadata?.labels?.[LABEL_SERVICE_NAME] === name &&
          ours(s) &&
          (s.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Endpoints' && o.controller),
      );
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.lister.get(key);
    const epObj = this.endpoints.lister.get(key);
    // Nothing to mirror (no Service, a Service with a selector — the EndpointSlice controller's —, no
    // Endpoints, or one that opts out): whatever was mirrored goes.
    if (!svc || hasSelector(asService(svc)) || !epObj || !shouldMirror(asEndpoints(epObj))) {
      this.tracker.deleteService(key);
      return this.deleteAll(namespace!, this.mirrored(namespace!, name));
    }
    const existing = this.mirrored(namespace!, name).filter((s) => !s.metadata?.deletionTimestamp);
    if (this.tracker.stale(key, epObj.metadata.uid, existing)) throw new StaleCacheError(`EndpointSlice (endpoints ${key})`);
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
    const ref = { ...R.endpointslices, namespace };
    try {
      if (!epObj.metadata.deletionTimestamp) for (const s of plan.create) this.tracker.update(asSlice(await this.ctx.client.create(ref, toKube(s))));
    } catch (e) {
      if (isNamespaceTerminating(e)) return;
      throw e;
    }
    for (const s of plan.update) this.tracker.update(asSlice(await this.ctx.client.update(ref, toKube(s))));
    await this.deleteAll(namespace!, plan.delete);
  }

  private async deleteAll(namespace: string, slices: readonly EndpointSlice[]): Promise<void> {
    for (const s of slices) {
      try {
        await this.ctx.client.delete({ ...R.endpointslices, namespace }, s.metadata!.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      this.tracker.expectDeletion(s);
    }
  }
}

export const endpointSliceMirroringController = (ctx: ControllerContext) => new EndpointSliceMirroringController(ctx);
