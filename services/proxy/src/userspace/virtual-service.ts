/**
 * One Service port of the userspace data path, the way IPVS keeps a virtual
 * service: its real servers with connection counters, a scheduler, and ClientIP
 * affinity when the Service asks for it. The TCP and UDP proxies ask it for a
 * backend and report when a connection ends. No I/O; the clock is injected.
 */
import { endpointString, type EndpointInfo } from '../model/types.js';
import { Balancer } from './affinity.js';
import type { Backend, SchedulerName } from './schedulers.js';

/** A backend plus what the proxies need to dial it. */
export interface RealServer extends Backend {
  port: number;
}

export class VirtualService {
  private balancer: Balancer;
  private affinitySeconds: number | undefined;
  private servers: RealServer[] = [];

  constructor(
    private readonly scheduler: SchedulerName,
    /** The address dh hashes: the Service's ClusterIP (the listener cannot see which portal a client used). */
    public destIP: string,
    affinityTimeoutSeconds: number | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.affinitySeconds = affinityTimeoutSeconds;
    this.balancer = this.newBalancer();
  }

  private newBalancer(): Balancer {
    return new Balancer({
      scheduler: this.scheduler,
      now: this.now,
      ...(this.affinitySeconds === undefined ? {} : { affinityTimeoutSeconds: this.affinitySeconds }),
    });
  }

  /**
   * The endpoints changed. A backend that stays keeps its counters (open connections
   * still count for lc/wlc/sed/nq); list order is the model's (sorted by ip:port), so
   * rr, dh and sh see a stable table.
   */
  update(endpoints: readonly EndpointInfo[], destIP: string, affinityTimeoutSeconds: number | undefined): void {
    this.destIP = destIP;
    if (affinityTimeoutSeconds !== this.affinitySeconds) {
      this.affinitySeconds = affinityTimeoutSeconds;
      this.balancer = this.newBalancer();
    }
    const old = new Map(this.servers.map((s) => [s.id, s]));
    this.servers = endpoints.map((e) => {
      const id = endpointString(e);
      return old.get(id) ?? { id, ip: e.ip, port: e.port, weight: 1, activeConns: 0, inactiveConns: 0 };
    });
    this.balancer.endpointsChanged(this.servers);
  }

  get size(): number {
    return this.servers.length;
  }

  /**
   * The backend for a new connection from `clientIP`, counted as active until
   * `release`. `tried` are backends whose dial failed for this connection: a retry
   * moves to another one and ignores affinity (the old proxier's sessionAffinityReset).
   */
  acquire(clientIP: string, tried?: ReadonlySet<string>): RealServer | undefined {
    let candidates: readonly RealServer[] = this.servers;
    if (tried && tried.size > 0) {
      const rest = this.servers.filter((s) => !tried.has(s.id));
      // Every backend failed once: start over rather than give up while retries are left.
      candidates = rest.length > 0 ? rest : this.servers;
    }
    const picked = this.balancer.pick(candidates, { clientIP, destIP: this.destIP }) as RealServer | undefined;
    if (picked) picked.activeConns++;
    return picked;
  }

  /** A connection to `server` ended. */
  release(server: RealServer): void {
    if (server.activeConns > 0) server.activeConns--;
  }
}
