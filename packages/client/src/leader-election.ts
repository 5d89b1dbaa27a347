/**
 * Leader election through a coordination.k8s.io Lease, as client-go does it:
 * try to take the lease every retryPeriod; a lease whose holder has not
 * renewed it within leaseDuration (as observed locally) may be taken; the
 * leader renews every retryPeriod and gives up leadership if it could not
 * renew within renewDeadline. Optimistic concurrency on the Lease makes sure
 * two candidates never both win.
 */
import { setMaxListeners } from 'node:events';
import { formatMicroTime, isNotFound, type KubeObject } from '@kemu/api';
import type { Lease, LeaseSpec } from 'kubernetes-types/coordination/v1.js';
import type { ApiClient } from './api-client.js';
import { realClock, sleepOn, type Clock } from './clock.js';

export interface LeaderElectionOptions {
  name: string;
  namespace?: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  /** Time and every wait of the elector (retry period, renew deadline); tests pass a fake one. */
  clock?: Clock;
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
}

const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };

export class LeaderElector {
  private observedRecord = '';
  private observedAt = 0;
  private leader = '';
  private ac = new AbortController();
  private o: Required<Omit<LeaderElectionOptions, 'onNewLeader'>> & Pick<LeaderElectionOptions, 'onNewLeader'>;

  constructor(
    // get, create and update are all it needs: the gRPC client or the REST one (a pod's).
    private client: Pick<ApiClient, 'get' | 'create' | 'update'>,
    opts: LeaderElectionOptions,
  ) {
    // Options left undefined keep the defaults (15 s lease, 10 s renew deadline, 2 s retry).
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as LeaderElectionOptions;
    this.o = { namespace: 'kube-system', leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2, clock: realClock, ...given };
  }

  get isLeader(): boolean {
    return this.leader === this.o.identity;
  }

  /** Stop campaigning; a leader gives the lease up at once (client-go's ReleaseOnCancel), so a standby need not wait for it to expire. */
  async stop(): Promise<void> {
    const wasLeader = this.isLeader;
    this.ac.abort();
    if (!wasLeader) return;
    const ref = { ...LEASES, namespace: this.o.namespace };
    try {
      const lease = await this.getLease(ref);
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      await this.updateLease(ref, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: formatMicroTime(this.o.clock.now()) },
      });
    } catch {
      /* the lease expires by itself */
    }
  }

  /** Campaign, lead until leadership is lost or `stop`, then return. */
  async run(): Promise<void> {
    const signal = this.ac.signal;
    // Each try bounded as a renewal is (client-go's requests carry a timeout): a call that hangs on a connection gone
    // half-dead would otherwise keep a standby from ever taking over.
    while (!signal.aborted && !(await this.renewWithin(this.o.renewDeadlineSeconds * 1000)))
      await sleepOn(this.o.clock, this.o.retryPeriodSeconds * 1000, signal);
    if (signal.aborted) return;
    const leading = new AbortController();
    setMaxListeners(1000, leading.signal);
    void Promise.resolve(this.o.onStartedLeading(leading.signal)).catch(() => undefined);
    let lastRenew = this.o.clock.now();
    while (!signal.aborted) {
      await sleepOn(this.o.clock, this.o.retryPeriodSeconds * 1000, signal);
      if (signal.aborted) break;
      if (await this.renewWithin(this.o.renewDeadlineSeconds * 1000)) lastRenew = this.o.clock.now();
      else if (this.o.clock.now() - lastRenew > this.o.renewDeadlineSeconds * 1000 || (this.leader && !this.isLeader)) break;
    }
    leading.abort();
    this.o.onStoppedLeading();
  }

  /**
   * A renewal that has not answered within the renew deadline counts as failed (client-go gives each attempt a
   * context with that timeout): a leader must stop leading before a standby may take the expired lease over.
   */
  private renewWithin(ms: number): Promise<boolean> {
    let timer: { cancel: () => void } | undefined;
    const late = new Promise<boolean>((r) => (timer = this.o.clock.setTimeout(() => r(false), ms)));
    return Promise.race([this.tryAcquireOrRenew(), late]).finally(() => timer?.cancel());
  }

  /** One attempt: true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.o.clock.now();
    const spec = (prev?: LeaseSpec): LeaseSpec => ({
      holderIdentity: this.o.identity,
      leaseDurationSeconds: this.o.leaseDurationSeconds,
      acquireTime: prev && prev.holderIdentity === this.o.identity ? prev.acquireTime : formatMicroTime(now),
      renewTime: formatMicroTime(now),
      leaseTransitions: prev ? Number(prev.leaseTransitions ?? 0) + (prev.holderIdentity === this.o.identity ? 0 : 1) : 0,
    });
    const ref = { ...LEASES, namespace: this.o.namespace };
    let lease: Lease;
    try {
      lease = await this.getLease(ref);
    } catch (e) {
      if (!isNotFound(e)) return false;
      try {
        await this.client.create(ref, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: spec(),
        });
        this.observe(this.o.identity, 'created', now);
        return true;
      } catch {
        return false; // another candidate created it first, or the API is away: try again next period
      }
    }
    const s = lease.spec ?? {};
    const record = `${s.holderIdentity}/${s.renewTime}`;
    if (record !== this.observedRecord) this.observe(s.holderIdentity ?? '', record, now);
    const expired = this.observedAt + Number(s.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000 <= now;
    if (s.holderIdentity && s.holderIdentity !== this.o.identity && !expired) return false;
    try {
      const updated = await this.updateLease(ref, { ...lease, spec: spec(s) });
      this.observe(this.o.identity, `${this.o.identity}/${updated.spec?.renewTime}`, now);
      return true;
    } catch {
      return false; // a conflict means someone else renewed or took it
    }
  }

  // The leases resource holds Leases: its objects are converted here, once.
  private async getLease(ref: typeof LEASES & { namespace: string }): Promise<Lease> {
    return (await this.client.get(ref, this.o.name)) as Lease;
  }

  private async updateLease(ref: typeof LEASES & { namespace: string }, lease: Lease): Promise<Lease> {
    return (await this.client.update(ref, lease as KubeObject)) as Lease;
  }

  private observe(holder: string, record: string, at: number): void {
    this.observedRecord = record;
    this.observedAt = at;
    if (holder !== this.leader) {
      this.leader = holder;
      this.o.onNewLeader?.(holder);
    }
  }
}
