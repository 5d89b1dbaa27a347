/**
 * LoadBalancer Services without a cloud, MetalLB's controller in layer-2 mode:
 * every Service of type LoadBalancer that is ours (no spec.loadBalancerClass,
 * or `kemu.io/l2`) gets an IPv4 address from the pool (`--lb-range`) in
 * status.loadBalancer.ingress; the per-node speaker (in the kube-proxy) then
 * answers ARP for it from one node, elected by @kemu/api's lb-election.ts.
 *
 * The allocation map lives in memory and is rebuilt from the Services'
 * status before the first sync, so an address survives restarts and
 * leader changes. A Service deleted or turned into another type gives its
 * address back (and loses its ingress), and the Services still pending are
 * tried again. Events and their wording are MetalLB's: IPAllocated,
 * AllocationFailed ("no available IPs", "… is not allowed in config"),
 * ClearAssignment.
 */
import { isNotFound, type KubeObject } from '@kemu/api';
import { keyOf, splitKey, WorkQueue, type EventType, type Informer } from '@kemu/client';
import type { Service } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { claimOf, formatLbRange, LbAllocator, requestedIP, type IpRange } from './service-lb-pool.js';
import { ingressIP, wantsOurLB } from '@kemu/api';

export interface LbEvent {
  type: EventType;
  reason: string;
  message: string;
}

/** What one sync of a Service of ours decides: the address its status should show (none: pending) and the events to record. */
export interface LbDecision {
  ip?: string;
  events: LbEvent[];
}

/**
 * MetalLB's convergeBalancer for one IPv4 pool: keep the address the Service shows if it
 * may still hold it (in the pool, not taken, what the user asked for), else allocate the
 * requested one or the first free one. Changes `alloc` to match its answer.
 */
export function converge(alloc: LbAllocator, key: string, svc: Service): LbDecision {
  const claim = claimOf(svc);
  const req = requestedIP(svc);
  const events: LbEvent[] = [];
  const current = ingressIP(svc);
  if (current) {
    const why = alloc.assign(key, current, claim);
    if (why) {
      events.push({
        type: 'Normal',
        reason: 'ClearAssignment',
        message: `current IP for "${key}" not allowed by config, will attempt for new IP assignment: ${why}`,
      });
    } else if (req.error) {
      // An invalid request does not take away a working address.
      events.push({ type: 'Warning', reason: 'LoadBalancerFailed', message: `invalid requested loadbalancer IPs: ${req.error}` });
      return { ip: current, events };
    } else if (!req.ip || req.ip === current) {
      return { ip: current, events };
    }
    alloc.release(key);
  }
  const failed = (error: string): LbDecision => {
    alloc.release(key);
    return { events: [...events, { type: 'Warning', reason: 'AllocationFailed', message: `Failed to allocate IP for "${key}": ${error}` }] };
  };
  if (req.error) return failed(req.error);
  // Held already: allocated by an earlier sync whose status the cache does not show yet (or whose write failed), and told then.
  const held = alloc.ipOf(key);
  let ip: string;
  if (req.ip) {
    const why = alloc.assign(key, req.ip, claim);
    if (why) return failed(why);
    ip = req.ip;
  } else {
    const got = alloc.allocate(key, claim);
    if ('error' in got) return failed(got.error);
    ip = got.ip;
  }
  if (held === ip) return { ip, events };
  return { ip, events: [...events, { type: 'Normal', reason: 'IPAllocated', message: `Assigned IP ["${ip}"]` }] };
}

export class ServiceLBController implements Controller {
  readonly name = 'service-lb-controller';
  private queue = new WorkQueue();
  private services: Informer;
  readonly alloc: LbAllocator;

  constructor(
    private ctx: ControllerContext,
    pool: readonly IpRange[] = ctx.lbPool ?? [],
  ) {
    this.alloc = new LbAllocator(pool);
    this.services = ctx.informers.for(R.services);
    const enqueue = (o: KubeObject) => this.queue.add(keyOf(o));
    this.services.on({ add: enqueue, update: (_a, b) => enqueue(b), delete: enqueue });
    if (pool.length) ctx.log.info({ pool: formatLbRange(pool) }, 'LoadBalancer address pool');
    else ctx.log.warn('no LoadBalancer address pool (--lb-range, --node-cidr): LoadBalancer Services stay pending');
  }

  run(_workers: number, signal: AbortSignal): Promise<void> {
    this.rebuild();
    // One worker: every sync reads and changes the one allocation map.
    return runWorkers(this.ctx, this.name, this.queue, 1, signal, (k) => this.sync(k));
  }

  /**
   * Take back the addresses the Services already show, before anything is allocated, so a
   * restarted controller hands out none of them again. Oldest first: when two Services
   * claim one address they may not share, the older keeps it and the other's sync moves it.
   */
  rebuild(): void {
    const ours = this.services.lister
      .list()
      .map((o) => o as Service)
      .filter(wantsOurLB)
      .sort(
        (a, b) =>
          (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') ||
          keyOf(a as KubeObject).localeCompare(keyOf(b as KubeObject)),
      );
    for (const svc of ours) {
      const ip = ingressIP(svc);
      if (ip) this.alloc.assign(keyOf(svc as KubeObject), ip, claimOf(svc));
    }
  }

  async sync(key: string): Promise<void> {
    const obj = this.services.lister.get(key);
    if (!obj) {
      this.release(key);
      return;
    }
    const svc = obj as Service;
    if (!wantsOurLB(svc)) {
      this.release(key);
      // No longer a LoadBalancer: the address it showed is gone. Another class's status is not ours to touch.
      if (svc.spec?.type !== 'LoadBalancer' && svc.status?.loadBalancer?.ingress?.length) await this.writeStatus(obj, undefined);
      return;
    }
    const d = converge(this.alloc, key, svc);
    for (const e of d.events) void this.ctx.recorder.event(obj, e.type, e.reason, e.message);
    const shown = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
    if (shown.length === (d.ip ? 1 : 0) && (!d.ip || shown[0] === d.ip)) return;
    await this.writeStatus(obj, d.ip);
  }

  /** Give back `key`'s address; Services left pending may now get it. */
  private release(key: string): void {
    if (!this.alloc.release(key)) return;
    for (const o of this.services.lister.list()) {
      const s = o as Service;
      if (wantsOurLB(s) && !ingressIP(s) && keyOf(o) !== key) this.queue.add(keyOf(o));
    }
  }

  private async writeStatus(obj: KubeObject, ip: string | undefined): Promise<void> {
    const { namespace } = splitKey(keyOf(obj));
    const cur = structuredClone(obj) as Service;
    const next: Service = { ...cur, status: { ...cur.status, loadBalancer: ip ? { ingress: [{ ip, ipMode: 'VIP' }] } : {} } };
    try {
      // An update with the resourceVersion read: a Service changed since is synced again, never overwritten.
      await this.ctx.client.update({ ...R.services, namespace }, next as KubeObject, 'status');
    } catch (e) {
      if (isNotFound(e)) {
        this.release(keyOf(obj));
        return;
      }
      throw e;
    }
  }
}

export const serviceLBController = (ctx: ControllerContext) => new ServiceLBController(ctx);
