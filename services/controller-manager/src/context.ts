/** What every controller is given: its client, shared informers, an event recorder, a logger, a clock. */
import type { Logger } from 'pino';
import type { ApiClient, EventRecorder, InformerFactory, WorkQueue } from '@kemu/client';
import type { IpRange } from './controllers/service-lb-pool.js';

export interface ControllerContext {
  /**
   * What the controller writes with: with service account credentials, its own account's
   * client (kube-system/deployment-controller, ...), so RBAC holds it to its system:controller:* role.
   */
  client: ApiClient;
  /** Shared by every controller, on the manager's own client (system:kube-controller-manager lists and watches everything). */
  informers: InformerFactory;
  /** Events, written with the controller's client. */
  recorder: EventRecorder;
  log: Logger;
  now: () => Date;
  /** The cluster CA (PEM) published as kube-root-ca.crt. */
  rootCA?: string;
  /** The LoadBalancer address pool (`--lb-range`); none: LoadBalancer Services stay pending. */
  lbPool?: readonly IpRange[];
  /** The node lifecycle controller's --node-monitor-period and --node-monitor-grace-period; absent: Kubernetes' 5 s and 40 s. */
  nodeMonitor?: { periodMs: number; gracePeriodMs: number };
  /** The pod network (`--cluster-cidr`) node IPAM cuts a /24 per node from; absent: 10.244.0.0/16. */
  clusterCIDR?: string;
  /** --cluster-signing-cert-file / -key-file and --cluster-signing-duration: what csrsigning signs with; absent: it signs nothing. */
  clusterSigning?: { cert: string; key: string; durationSeconds: number };
}

/** A controller: registers its informers in the constructor, then runs workers until the signal aborts. */
export interface Controller {
  readonly name: string;
  run(workers: number, signal: AbortSignal): Promise<void>;
}

export const R = {
  pods: { version: 'v1', resource: 'pods' },
  nodes: { version: 'v1', resource: 'nodes' },
  namespaces: { version: 'v1', resource: 'namespaces' },
  serviceaccounts: { version: 'v1', resource: 'serviceaccounts' },
  replicationcontrollers: { version: 'v1', resource: 'replicationcontrollers' },
  replicasets: { group: 'apps', version: 'v1', resource: 'replicasets' },
  deployments: { group: 'apps', version: 'v1', resource: 'deployments' },
  daemonsets: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  services: { version: 'v1', resource: 'services' },
  endpoints: { version: 'v1', resource: 'endpoints' },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
  configmaps: { version: 'v1', resource: 'configmaps' },
  resourcequotas: { version: 'v1', resource: 'resourcequotas' },
  clusterroles: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' },
  certificatesigningrequests: { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests' },
} as const;

export { formatTime as ts } from '@kemu/api';

/** Run `workers` loops of `sync` over the queue until the signal aborts; failures are logged and retried with back-off. */
export function runWorkers(
  ctx: ControllerContext,
  name: string,
  queue: WorkQueue,
  workers: number,
  signal: AbortSignal,
  sync: (key: string) => Promise<void>,
): Promise<void> {
  signal.addEventListener('abort', () => queue.shutDown(), { once: true });
  return queue.run(workers, sync, (key, err) => ctx.log.warn({ controller: name, key, err }, 'sync failed'), name);
}
