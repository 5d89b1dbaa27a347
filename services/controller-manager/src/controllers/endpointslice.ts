/**
 * The EndpointSlice controller: for each Service with a selector, the
 * discovery.k8s.io/v1 EndpointSlices (`<service>-<suffix>`, at most 100
 * endpoints each) that kube-proxy and DNS read. The decisions are
 * reconcileSlices' (endpointslice-reconcile.ts); this file feeds it from the
 * caches and writes what it decides.
 */
import { isNotFound, type KubeObject } from '@kemu/api';
import { keyOf, splitKey, WorkQueue, type Informer } from '@kemu/client';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import {
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  StaleCacheError,
  isNamespaceTerminating,
  TriggerTimeTracker,
  asPod,
  asService,
  hasSelector,
  selects,
  servicesSelecting,
  servicesToUpdateOnPodChange,
  toKube,
} from './endpoint-util.js';
import { ENDPOINTSLICE_CONTROLLER, MAX_ENDPOINTS_PER_SLICE, reconcileSlices } from './endpointslice-reconcile.js';
import { SliceTracker } from './slice-tracker.js';

export interface EndpointSliceOptions {
  maxEndpointsPerSlice?: number;
  /** endpointSliceChangeMinSyncDelay: a slice changed by someone else re-syncs its Service after this long (1 s). */
  sliceChangeDelayMs?: number;
}

const asSlice = (o: KubeObject) => o as EndpointSlice;
const ours = (s: EndpointSlice) => s.metadata?.labels?.[LABEL_MANAGED_BY] === ENDPOINTSLICE_CONTROLLER;
const serviceKeyOf = (s: EndpointSlice) => {
  const name = s.metadata?.labels?.[LABEL_SERVICE_NAME];
  return name ? `${s.metadata?.namespace}/${name}` : undefined;
};

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  private queue = new WorkQueue();
  private services: Informer;
  private pods: Informer;
  private nodes: Informer;
  private slices: Informer;
  private triggerTimes = new TriggerTimeTracker();
  private tracker = new SliceTracker();
  private max: number;
  private sliceDelay: number;

  constructor(
    private ctx: ControllerContext,
    opts: EndpointSliceOptions = {},
  ) {
    this.max = opts.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
    this.sliceDelay = opts.sliceChangeDelayMs ?? 1000;
    this.services = ctx.informers.for(R.services);
    this.pods = ctx.informers.for(R.pods);
    this.nodes = ctx.informers.for(R.nodes);
    this.slices = ctx.informers.for(R.endpointslices);
    const enqueue = (o: KubeObject) => this.queue.add(keyOf(o));
    this.services.on({ add: enqueue, update: (_a, b) => enqueue(b), delete: enqueue });
    const all = () => this.services.lister.list().map(asService);
    const podServices = (p: KubeObject) => servicesSelecting(all(), p.metadata.namespace, p.metadata.labels).forEach((k) => this.queue.add(k));
    this.pods.on({
      add: podServices,
      update: (a, b) => servicesToUpdateOnPodChange(all(), asPod(a), asPod(b)).forEach((k) => this.queue.add(k)),
      delete: podServices,
    });
    this.slices.on({
      add: (o) => {
        const s = asSlice(o);
        if (ours(s) && this.tracker.shouldSync(s)) this.sliceChanged(s);
      },
      update: (a, b) => {
        const [prev, s] = [asSlice(a), asSlice(b)];
        // Somebody moved a slice from one Service to another: both need a look.
        if (serviceKeyOf(prev) !== serviceKeyOf(s)) {
          this.sliceChanged(s);
          this.sliceChanged(prev);
        } else if (ours(prev) !== ours(s) || (ours(s) && this.tracker.shouldSync(s))) this.sliceChanged(s);
      },
      delete: (o) => {
        const s = asSlice(o);
        // A deletion we did not ask for (a user's kubectl delete): put the slice back.
        if (ours(s) && this.tracker.has(s) && !this.tracker.handleDeletion(s)) this.sliceChanged(s);
      },
    });
  }

  private sliceChanged(s: EndpointSlice): void {
    const key = serviceKeyOf(s);
    if (key) this.queue.addAfter(key, this.sliceDelay);
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svcObj = this.services.lister.get(key);
    if (!svcObj) {
      // Its slices go with it: the garbage collector follows their ownerReference.
      this.triggerTimes.delete(key);
      this.tracker.deleteService(key);
      return;
    }
    const svc = asService(svcObj);
    if (svc.spec?.type === 'ExternalName' || !hasSelector(svc)) return;
    const pods = this.pods.lister
      .list(namespace)
      .map(asPod)
      .filter((p) => selects(svc, p.metadata?.labels));
    const existing = this.slices.lister
      .list(namespace)
      .map(asSlice)
      .filter((s) => s.metadata?.labels?.[LABEL_SERVICE_NAME] === name && ours(s) && !s.metadata?.deletionTimestamp);
    if (this.tracker.stale(key, svc.metadata?.uid, existing)) throw new StaleCacheError(`EndpointSlice (service ${key})`);
    const triggerTime = this.triggerTimes.compute(svc, pods);
    const nodes = new Map(this.nodes.lister.list().map((n) => [n.metadata.name!, n as Node]));
    const plan = reconcileSlices({ service: svc, pods, nodes, existing, maxEndpointsPerSlice: this.max, triggerTime });
    const ref = { ...R.endpointslices, namespace };
    try {
      // No new slices for a Service on its way out: the garbage collector would race us.
      if (!svc.metadata?.deletionTimestamp) for (const s of plan.create) this.tracker.update(asSlice(await this.ctx.client.create(ref, toKube(s))));
      for (const s of plan.update) this.tracker.update(asSlice(await this.ctx.client.update(ref, toKube(s))));
      for (const s of plan.delete) {
        try {
          await this.ctx.client.delete(ref, s.metadata!.name!);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        this.tracker.expectDeletion(s);
      }
    } catch (e) {
      if (isNamespaceTerminating(e)) return;
      void this.ctx.recorder.event(
        svcObj,
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
