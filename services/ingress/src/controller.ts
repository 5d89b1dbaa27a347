/**
 * The ingress controller's loop. Every change to an Ingress, IngressClass,
 * Service, EndpointSlice, Secret or the controller's ConfigMap queues the one
 * key there is — the whole configuration — shortly after, so a burst of
 * changes (a rollout, the first list) is one sync. A sync renders the configuration from the caches and
 * hands it to the applier (which reloads nginx only when the text changed),
 * reports each Ingress it had to leave out once per reason (a Warning Event
 * and a log line), and writes status.loadBalancer on the Ingresses it serves
 * — when it leads (--election-id), so that replicas do not take turns. The
 * ConfigMap's keys without effect are logged once each. A failed sync is
 * retried with the workqueue's back-off.
 */
import type { ConfigMap, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass, IngressLoadBalancerIngress } from 'kubernetes-types/networking/v1.js';
import { isNotFound, type KubeObject } from '@kemu/api';
import { WorkQueue, type ApiClient, type EventRecorder, type Informer } from '@kemu/client/rest';
import type { Logger } from 'pino';
import type { ConfigApplier } from './applier.js';
import { isServed, type ClassOptions } from './config/classes.js';
import type { ClusterState } from './config/model.js';
import type { ParsedSettings } from './config/settings.js';
import { publishedAddresses, statusUpdates } from './status.js';

export interface Informers {
  ingresses: Informer;
  classes: Informer;
  services: Informer;
  slices: Informer;
  secrets: Informer;
  /** The controller's ConfigMap (--configmap), watched by name. */
  configMap?: Informer;
}

export interface ControllerOptions extends ClassOptions {
  /** `namespace/name` of the controller's LoadBalancer Service, whose addresses the Ingresses get. */
  publishService?: string;
  /** How long after a change the sync runs (changes meanwhile join it). Default 100 ms. */
  debounceMs?: number;
  /** Whether this replica leads and so writes status (default: it always does). */
  isLeader?: () => boolean;
  /** Without publishService: the addresses the Ingresses get (the nodes of the controller's pods). */
  runningAddresses?: () => Promise<IngressLoadBalancerIngress[]>;
}

const KEY = 'nginx.conf';
const INGRESSES = { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' };
const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;

export class IngressController {
  readonly queue = new WorkQueue();
  /** The problem last reported per Ingress, so each is reported once. */
  private reported = new Map<string, string>();
  /** ConfigMap keys (and refused values) already logged. */
  private settingsReported = new Set<string>();
  private synced = false;

  constructor(
    private informers: Informers,
    private applier: ConfigApplier,
    private client: Pick<ApiClient, 'update'>,
    private recorder: Pick<EventRecorder, 'event'>,
    private o: ControllerOptions,
    private log: Logger,
  ) {
    const enqueue = () => this.queue.addAfter(KEY, o.debounceMs ?? 100);
    const others = [informers.classes, informers.services, informers.slices, informers.secrets, informers.configMap];
    for (const inf of others) inf?.on({ add: enqueue, update: enqueue, delete: enqueue });
    informers.ingresses.on({
      add: (o) => this.scheduled(undefined, o),
      update: (old, o) => this.scheduled(old, o),
      delete: enqueue,
    });
  }

  /** ingress-nginx's "Scheduled for sync" on each change of an Ingress it serves (not on status writes). */
  private scheduled(old: KubeObject | undefined, obj: KubeObject): void {
    this.queue.addAfter(KEY, this.o.debounceMs ?? 100);
    const ing = obj as Ingress;
    const changed =
      !old || old.metadata.generation !== obj.metadata.generation || JSON.stringify(old.metadata.annotations) !== JSON.stringify(obj.metadata.annotations);
    if (changed && isServed(ing, this.informers.classes.lister.list() as unknown as IngressClass[], this.o))
      void this.recorder.event(obj, 'Normal', 'Sync', 'Scheduled for sync');
  }

  /** The caches as the renderer reads them (read-only: they are the informers' frozen objects). */
  state(): ClusterState {
    const list = <T>(i: Informer) => i.lister.list() as unknown as T[];
    return {
      ingresses: list<Ingress>(this.informers.ingresses),
      classes: list<IngressClass>(this.informers.classes),
      services: list<Service>(this.informers.services),
      slices: list<EndpointSlice>(this.informers.slices),
      secrets: list<Secret>(this.informers.secrets),
      configMap: this.informers.configMap?.lister.list()[0] as ConfigMap | undefined,
    };
  }

  /** Sync soon (leadership changed, or the addresses of the controller's pods may have). */
  resync(): void {
    this.queue.addAfter(KEY, this.o.debounceMs ?? 100);
  }

  /** Whether a configuration from synced caches has been loaded. */
  get ready(): boolean {
    return this.synced && this.applier.running !== undefined;
  }

  async sync(): Promise<void> {
    const state = this.state();
    const { rendered, reloaded } = await this.applier.apply(state);
    if (reloaded) this.log.info({ ingresses: rendered.served.length, left_out: rendered.problems.length }, 'nginx configuration reloaded');
    const byKey = new Map(state.ingresses.map((i) => [keyOf(i), i]));
    const now = new Set<string>();
    for (const p of rendered.problems) {
      now.add(p.ingress);
      if (this.reported.get(p.ingress) === p.message) continue;
      this.reported.set(p.ingress, p.message);
      this.log.warn({ ingress: p.ingress, reason: p.reason, message: p.message }, 'ingress left out of the configuration');
      const ing = byKey.get(p.ingress);
      if (ing) void this.recorder.event(ing as KubeObject, 'Warning', p.reason, p.message);
    }
    for (const k of this.reported.keys()) if (!now.has(k)) this.reported.delete(k);
    this.reportSettings(rendered.settings);
    await this.writeStatus(state, new Set(rendered.served));
  }

  private reportSettings(s: ParsedSettings): void {
    for (const key of s.unknown) {
      if (this.settingsReported.has(key)) continue;
      this.settingsReported.add(key);
      this.log.info({ key }, 'configmap key not implemented by this controller, ignored');
    }
    for (const bad of s.invalid) {
      const id = `${bad.key}=${bad.value}`;
      if (this.settingsReported.has(id)) continue;
      this.settingsReported.add(id);
      this.log.warn(bad, 'configmap value refused; the default stays');
    }
  }

  private async addresses(state: ClusterState): Promise<IngressLoadBalancerIngress[] | undefined> {
    if (this.o.publishService) return publishedAddresses(state.services.find((s) => keyOf(s) === this.o.publishService));
    return this.o.runningAddresses?.();
  }

  private async writeStatus(state: ClusterState, served: ReadonlySet<string>): Promise<void> {
    if (this.o.isLeader && !this.o.isLeader()) return;
    const addresses = await this.addresses(state);
    if (!addresses) return;
    for (const ing of statusUpdates(state.ingresses, served, addresses)) {
      try {
        await this.client.update({ ...INGRESSES, namespace: ing.metadata?.namespace }, ing as KubeObject, 'status');
        this.log.info({ ingress: keyOf(ing), addresses: ing.status?.loadBalancer?.ingress ?? [] }, 'ingress status updated');
      } catch (e) {
        if (!isNotFound(e)) throw e; // a conflict fails the sync: the retry reads the newer object
      }
    }
  }

  /** Sync whenever something changed, from now on (the caches have synced). */
  run(): Promise<void> {
    this.synced = true;
    this.queue.add(KEY);
    return this.queue.run(
      1,
      () => this.sync(),
      (_k, err) => this.log.error({ err: String(err) }, 'sync failed; retrying'),
      'ingress-nginx',
    );
  }

  stop(): void {
    this.queue.shutDown();
  }
}
