/**
 * The EndpointSlice controller: for each Service with a selector, the
 * discovery.k8s.io/v1 EndpointSlices (`<service>-<suffix>`, at most 100
 * endpoints each) that kube-proxy and DNS read. The decisions are
 * reconcileSlices' (endpointslice-reconcile.ts); this file feeds it from the
 * caches and writes what it decides.
 */
import { splitKey, WorkQueue, type Informer } from '@kemu/client';
import type { Node } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { ManagedSlices, SelectedPods } from './endpoint-informers.js';
import { StaleCacheError, isNamespaceTerminating, toKube } from './endpoint-util.js';
import { ENDPOINTSLICE_CONTROLLER, reconcileSlices } from './endpointslice-reconcile.js';

export interface EndpointSliceOptions {
  maxEndpointsPerSlice?: number;
  /** endpointSliceChangeMinSyncDelay: a slice changed by someone else re-syncs its Service after this long (1 s). */
  sliceChangeDelayMs?: number;
}

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  private queue = new WorkQueue();
  private source: SelectedPods;
  private nodes: Informer;
  private slices: ManagedSlices;

  constructor(
    private ctx: ControllerContext,
    private opts: EndpointSliceOptions = {},
  ) {
    const sliceDelay = opts.sliceChangeDelayMs ?? 1000;
    this.source = new SelectedPods(ctx.informers, (k) => this.queue.add(k));
    this.nodes = ctx.informers.for(R.nodes);
    this.slices = new ManagedSlices(ctx, ENDPOINTSLICE_CONTROLLER, (k) => this.queue.addAfter(k, sliceDelay));
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.source.service(key);
    if (!svc) {
      this.source.forget(key);
      // Its slices go with it: the garbage collector follows their ownerReference.
      this.slices.tracker.deleteService(key);
      return;
    }
    const pods = this.source.podsOf(svc);
    if (!pods) return;
    const existing = this.slices.labelledFor(namespace, name).filter((s) => !s.metadata?.deletionTimestamp);
    if (this.slices.tracker.stale(key, svc.metadata?.uid, existing)) throw new StaleCacheError(`EndpointSlice (service ${key})`);
    const triggerTime = this.source.triggerTime(svc, pods);
    const nodes = new Map(this.nodes.lister.list().map((n) => [n.metadata.name!, n as Node]));
    const plan = reconcileSlices({ service: svc, pods, nodes, existing, maxEndpointsPerSlice: this.opts.maxEndpointsPerSlice, triggerTime });
    try {
      // No new slices for a Service on its way out: the garbage collector would race us.
      if (!svc.metadata?.deletionTimestamp) for (const s of plan.create) await this.slices.create(s);
      for (const s of plan.update) await this.slices.update(s);
      for (const s of plan.delete) await this.slices.delete(s);
    } catch (e) {
      if (isNamespaceTerminating(e)) return;
      void this.ctx.recorder.event(
        toKube(svc),
        'Warning',
        'FailedToUpdateEndpointSlices',
        `Error updating Endpoint Slices for Service ${key}: ${(e as Error).message}`,
      );
      throw e;
    }
    // Pods on a node the cache does not know yet were left out; try again once it does.
    if (plan.missingNodes.length) throw new Error(`skipping pods of Service ${key}: node(s) ${[...new Set(plan.missingNodes)].join(', ')} not found`);
  }
}

export const endpointSliceController = (ctx: ControllerContext) => new EndpointSliceController(ctx);
