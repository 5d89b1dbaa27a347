/**
 * The `kubernetes` Service and its endpoints, kept by the api-server itself
 * as kube-apiserver's kubernetesservice controller and lease endpoint
 * reconciler keep them: at start and every 10 s, create the Service if it is
 * missing, refresh this api-server's master lease, and rewrite the
 * Endpoints and EndpointSlice `default/kubernetes` to the addresses of the
 * api-servers whose leases are alive, if anyone changed them. On stop the
 * lease goes and the others take this address out at once.
 */
import { isAlreadyExists, isConflict, isNotFound, lookupResource, type KubeObject, type ResourceInfo } from '@kemu/api';
import type { Logger } from 'pino';
import type { RestStore } from '../registry/rest.js';
import type { MasterLeases } from '../storage/master-leases.js';
import {
  desiredEndpoints,
  desiredEndpointSlice,
  endpointPorts,
  kubernetesService,
  LABEL_SERVICE_NAME,
  SERVICE_NAME,
  SERVICE_NAMESPACE,
  strayEndpointSlices,
} from './endpoints-adapter.js';

/** Kubernetes' EndpointInterval. */
export const ENDPOINT_INTERVAL_MS = 10_000;

export interface KubernetesServiceOptions {
  rest: RestStore;
  leases: MasterLeases;
  /** This api-server's address on the cluster network (--advertise-address). */
  advertiseAddress: string;
  /** The api-server's HTTPS port: the endpoints' port and the Service's targetPort. */
  port: number;
  /** The Service's ClusterIP (the first address of the service range). */
  serviceIP: string;
  log: Logger;
  intervalMs?: number;
}

const resource = (group: string, version: string, name: string): ResourceInfo => lookupResource(group, version, name)!;

export class KubernetesServiceController {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly services = resource('', 'v1', 'services');
  private readonly endpoints = resource('', 'v1', 'endpoints');
  private readonly slices = resource('discovery.k8s.io', 'v1', 'endpointslices');

  constructor(private o: KubernetesServiceOptions) {}

  /** The first pass (ports put right too, so a changed --secure-port shows at once), then one every interval. */
  async start(): Promise<void> {
    await this.enqueue(() => this.update(true));
    this.timer = setInterval(() => {
      void this.enqueue(() => this.update(false)).catch((err) => this.o.log.warn({ err }, 'unable to sync the kubernetes service'));
    }, this.o.intervalMs ?? ENDPOINT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Take this api-server out; bounded, so an unreachable etcd does not hold the shutdown. */
  async stop(timeoutMs = 2000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    const remove = this.enqueue(async () => {
      await this.o.leases.remove(this.o.advertiseAddress);
      await this.reconcile(await this.o.leases.list(), true);
    });
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([remove, new Promise<void>((r) => (timeout = setTimeout(r, timeoutMs)))])
      .catch((err) => this.o.log.warn({ err }, 'unable to remove this api-server from the kubernetes endpoints'))
      .finally(() => clearTimeout(timeout));
  }

  /** Passes never overlap (Kubernetes' reconcilingLock). */
  private enqueue(pass: () => Promise<void>): Promise<void> {
    const next = this.running.then(pass);
    this.running = next.catch(() => undefined);
    return next;
  }

  private async update(reconcilePorts: boolean): Promise<void> {
    if (this.stopped) return;
    await this.ensureService();
    // Refreshed first, whatever happens next, so every api-server counts this one.
    await this.o.leases.update(this.o.advertiseAddress);
    await this.reconcile(await this.o.leases.list(), reconcilePorts);
  }

  private async ensureService(): Promise<void> {
    // Looked up first: a create that fails as AlreadyExists would still try to take the ClusterIP.
    if (await this.find(this.services, SERVICE_NAME)) return;
    try {
      await this.o.rest.create(this.services, SERVICE_NAMESPACE, kubernetesService(this.o.serviceIP, this.o.port));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  private async reconcile(ips: string[], reconcilePorts: boolean): Promise<void> {
    // No address at all is a state to refuse, not to publish: while running our own lease was just
    // refreshed, and the last api-server to stop leaves its address (Kubernetes' validation refuses an
    // Endpoints subset without addresses, so its update fails the same way).
    if (ips.length === 0) return;
    const ports = endpointPorts(this.o.port);
    await this.retry(async () => {
      const cur = await this.find(this.endpoints, SERVICE_NAME);
      const next = desiredEndpoints(cur, ips, ports, reconcilePorts);
      if (next) await this.write(this.endpoints, cur, next, ips);
    });
    await this.retry(async () => {
      const { items } = await this.o.rest.list(this.slices, SERVICE_NAMESPACE, { labelSelector: `${LABEL_SERVICE_NAME}=${SERVICE_NAME}` });
      for (const stray of strayEndpointSlices(items)) {
        await this.o.rest.delete(this.slices, SERVICE_NAMESPACE, stray.metadata.name!).catch((e) => {
          if (!isNotFound(e)) throw e;
        });
      }
      const cur = await this.find(this.slices, SERVICE_NAME);
      const next = desiredEndpointSlice(cur, ips, ports, reconcilePorts);
      if (next) await this.write(this.slices, cur, next, ips);
    });
  }

  private async write(info: ResourceInfo, cur: KubeObject | undefined, next: KubeObject, ips: string[]): Promise<void> {
    if (cur) {
      this.o.log.warn({ resource: info.resource, addresses: ips }, 'resetting the kubernetes service endpoints');
      await this.o.rest.update(info, SERVICE_NAMESPACE, SERVICE_NAME, next);
    } else {
      await this.o.rest.create(info, SERVICE_NAMESPACE, next);
    }
  }

  private async find(info: ResourceInfo, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.o.rest.get(info, SERVICE_NAMESPACE, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Another api-server writing at the same time: read again and retry (Kubernetes' retry.OnError on Conflict / AlreadyExists). */
  private async retry(fn: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= 5 || !(isConflict(e) || isAlreadyExists(e))) throw e;
      }
    }
  }
}
