/**
 * The informer wiring the Endpoints, EndpointSlice and EndpointSlice mirroring
 * controllers share: Kubernetes' three register the same handlers on the same
 * informers. Every Service event queues that Service; a pod event queues the
 * Services that select the pod (Endpoints, EndpointSlice); an event on a
 * controller's own EndpointSlices queues their Service only when it is news
 * (EndpointSlice, mirroring). Each controller keeps its own file, queue and
 * `sync`; this is what they read from and how their queue is fed.
 */
import { isNotFound, type KubeObject } from '@kemu/api';
import { keyOf, type Informer, type InformerFactory } from '@kemu/client';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { R, type ControllerContext } from '../context.js';
import {
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  TriggerTimeTracker,
  asPod,
  asService,
  hasSelector,
  selects,
  servicesSelecting,
  servicesToUpdateOnPodChange,
  toKube,
} from './endpoint-util.js';
import { SliceTracker } from './slice-tracker.js';

/** Adds a `namespace/name` key to a controller's queue. */
export type Enqueue = (key: string) => void;

/** The Services informer, every event of which queues the Service's own key (all three controllers sync per Service). */
export function watchServices(informers: InformerFactory, enqueue: Enqueue): Informer {
  const services = informers.for(R.services);
  const queueIt = (o: KubeObject) => enqueue(keyOf(o));
  services.on({ add: queueIt, update: (_a, b) => queueIt(b), delete: queueIt });
  return services;
}

/**
 * Services and the pods they select, as the Endpoints and EndpointSlice
 * controllers read them, with the last-change trigger time each controller
 * stamps on what it writes. A pod added or deleted queues the Services that
 * select it (GetPodServiceMemberships); a pod updated, those its change
 * touches (GetServicesToUpdateOnPodChange).
 */
export class SelectedPods {
  readonly services: Informer;
  readonly pods: Informer;
  private triggerTimes = new TriggerTimeTracker();

  constructor(informers: InformerFactory, enqueue: Enqueue) {
    this.services = watchServices(informers, enqueue);
    this.pods = informers.for(R.pods);
    const memberOf = (p: KubeObject) => servicesSelecting(this.all(), p.metadata.namespace, p.metadata.labels).forEach((k) => enqueue(k));
    this.pods.on({
      add: memberOf,
      update: (a, b) => servicesToUpdateOnPodChange(this.all(), asPod(a), asPod(b)).forEach((k) => enqueue(k)),
      delete: memberOf,
    });
  }

  private all(): Service[] {
    return this.services.lister.list().map(asService);
  }

  /** The Service of this key in the cache, if any. */
  service(key: string): Service | undefined {
    const o = this.services.lister.get(key);
    return o && asService(o);
  }

  /** The Service is gone: a new one of its name starts afresh. */
  forget(key: string): void {
    this.triggerTimes.delete(key);
  }

  /**
   * The trigger time to write with these pods: called on every sync that gets
   * as far as writing, so the tracker follows what each such sync saw, even
   * when nothing is written.
   */
  triggerTime(svc: Service, pods: readonly Pod[]): number | undefined {
    return this.triggerTimes.compute(svc, pods);
  }

  /**
   * The pods the Service's endpoints are made of; undefined for a Service
   * whose endpoints are not the controllers' to compute (ExternalName, or no
   * selector: its Endpoints are the user's).
   */
  podsOf(svc: Service): Pod[] | undefined {
    if (svc.spec?.type === 'ExternalName' || !hasSelector(svc)) return undefined;
    return this.pods.lister
      .list(svc.metadata?.namespace)
      .map(asPod)
      .filter((p) => selects(svc, p.metadata?.labels));
  }
}

const asSlice = (o: KubeObject) => o as EndpointSlice;
/** The key of the Service (or Endpoints) a slice is labelled for, if it is labelled. */
const serviceKeyOf = (s: EndpointSlice) => {
  const name = s.metadata?.labels?.[LABEL_SERVICE_NAME];
  return name ? `${s.metadata?.namespace}/${name}` : undefined;
};

/**
 * The EndpointSlices one controller manages (its managed-by label) and the
 * tracker of its own writes to them, which it writes through here. A slice
 * event queues the slice's Service only when it is news: a slice moved to
 * another Service (both are looked at) or to or from this manager, a write not
 * the controller's own, or a deletion it did not ask for (the sync puts the
 * slice back).
 */
export class ManagedSlices {
  readonly tracker = new SliceTracker();
  private informer: Informer;

  constructor(
    private ctx: ControllerContext,
    private manager: string,
    enqueue: Enqueue,
  ) {
    this.informer = ctx.informers.for(R.endpointslices);
    const changed = (s: EndpointSlice) => {
      const key = serviceKeyOf(s);
      if (key) enqueue(key);
    };
    this.informer.on({
      add: (o) => {
        const s = asSlice(o);
        if (this.ours(s) && this.tracker.shouldSync(s)) changed(s);
      },
      update: (a, b) => {
        const [prev, s] = [asSlice(a), asSlice(b)];
        // Generation does not change with labels: a user relabelling a slice for another Service is seen here.
        if (serviceKeyOf(prev) !== serviceKeyOf(s)) {
          changed(s);
          changed(prev);
        } else if (this.ours(prev) !== this.ours(s) || (this.ours(s) && this.tracker.shouldSync(s))) changed(s);
      },
      delete: (o) => {
        const s = asSlice(o);
        if (this.ours(s) && this.tracker.has(s) && !this.tracker.handleDeletion(s)) changed(s);
      },
    });
  }

  ours(s: EndpointSlice): boolean {
    return s.metadata?.labels?.[LABEL_MANAGED_BY] === this.manager;
  }

  /** This manager's slices labelled for the named Service, deleted ones included: callers choose. */
  labelledFor(namespace: string | undefined, name: string): EndpointSlice[] {
    return this.informer.lister
      .list(namespace)
      .map(asSlice)
      .filter((s) => s.metadata?.labels?.[LABEL_SERVICE_NAME] === name && this.ours(s));
  }

  async create(s: EndpointSlice): Promise<void> {
    this.tracker.update(asSlice(await this.ctx.client.create(this.ref(s), toKube(s))));
  }

  async update(s: EndpointSlice): Promise<void> {
    this.tracker.update(asSlice(await this.ctx.client.update(this.ref(s), toKube(s))));
  }

  /** Deletes a slice (gone already is as good) and expects its deletion event. */
  async delete(s: EndpointSlice): Promise<void> {
    try {
      await this.ctx.client.delete(this.ref(s), s.metadata!.name!);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.tracker.expectDeletion(s);
  }

  private ref(s: EndpointSlice) {
    return { ...R.endpointslices, namespace: s.metadata?.namespace };
  }
}
