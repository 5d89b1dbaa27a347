/**
 * The api-servers that are alive, as kube-apiserver's lease endpoint
 * reconciler keeps them: each api-server refreshes a key
 * `/registry/masterleases/<ip>` with a time to live (15 s, refreshed every
 * 10 s); a key that expires is an api-server that went away. The value is an
 * Endpoints object holding the address, as Kubernetes stores it.
 */
import type { KubeObject } from '@kemu/api';
import type { EtcdStore } from './etcd-store.js';

/** Kubernetes' DefaultEndpointReconcilerTTL. */
export const MASTER_LEASE_TTL_SECONDS = 15;
const PREFIX = '/registry/masterleases/';

export interface MasterLeases {
  /** Add or refresh this api-server's lease. */
  update(ip: string): Promise<void>;
  /** The addresses of the api-servers whose leases are alive. */
  list(): Promise<string[]>;
  remove(ip: string): Promise<void>;
}

/** The address a lease holds (the first address of its one subset, as Kubernetes reads it). */
function addressOf(obj: KubeObject): unknown {
  const lease: { metadata: unknown; subsets?: { addresses?: { ip?: unknown }[] }[] } = obj;
  return lease.subsets?.[0]?.addresses?.[0]?.ip;
}

export class EtcdMasterLeases implements MasterLeases {
  constructor(
    private store: EtcdStore,
    private ttlSeconds = MASTER_LEASE_TTL_SECONDS,
  ) {}

  async update(ip: string): Promise<void> {
    await this.store.putWithTTL(PREFIX + ip, { apiVersion: 'v1', kind: 'Endpoints', metadata: {}, subsets: [{ addresses: [{ ip }] }] }, this.ttlSeconds);
  }

  async list(): Promise<string[]> {
    const { items } = await this.store.list(PREFIX);
    return items.map((i) => addressOf(i.obj)).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  }

  async remove(ip: string): Promise<void> {
    await this.store.remove(PREFIX + ip);
  }
}
