/**
 * ClientIP session affinity for the userspace data path, as the userspace proxy's
 * round-robin balancer kept it (and IPVS persistence does): a client that used a
 * backend within the timeout goes back to it while that backend is still there.
 * The clock is injected so tests drive time.
 */
import { createScheduler, type Backend, type Connection, type Scheduler, type SchedulerName } from './schedulers.js';

interface Entry {
  backendId: string;
  lastUsed: number;
}

export class ClientIPAffinity {
  private readonly entries = new Map<string, Entry>();

  /** @param ttlSeconds the Service's sessionAffinityConfig.clientIP.timeoutSeconds. */
  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The client's backend if it used one within the timeout; the timeout counts from the last use. */
  lookup(clientIP: string): string | undefined {
    const e = this.entries.get(clientIP);
    if (!e) return undefined;
    if (this.now() - e.lastUsed >= this.ttlSeconds * 1000) {
      this.entries.delete(clientIP);
      return undefined;
    }
    return e.backendId;
  }

  /** Note that the client now uses this backend (a new connection, or a renewed one). */
  record(clientIP: string, backendId: string): void {
    this.entries.set(clientIP, { backendId, lastUsed: this.now() });
  }

  /** Forget clients of backends that are gone (the endpoints changed). */
  retain(backendIds: ReadonlySet<string>): void {
    for (const [ip, e] of this.entries) if (!backendIds.has(e.backendId)) this.entries.delete(ip);
  }

  /** Drop expired entries (called periodically so the table does not grow without bound). */
  sweep(): void {
    const now = this.now();
    for (const [ip, e] of this.entries) if (now - e.lastUsed >= this.ttlSeconds * 1000) this.entries.delete(ip);
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * One virtual service's balancer: affinity first (when the Service has ClientIP
 * affinity), then the scheduler; the choice is recorded for the next connection.
 */
export class Balancer {
  private readonly scheduler: Scheduler;
  private readonly affinity: ClientIPAffinity | undefined;

  constructor(opts: { scheduler: SchedulerName; affinityTimeoutSeconds?: number; now?: () => number }) {
    this.scheduler = createScheduler(opts.scheduler);
    this.affinity = opts.affinityTimeoutSeconds === undefined ? undefined : new ClientIPAffinity(opts.affinityTimeoutSeconds, opts.now ?? Date.now);
  }

  pick(backends: readonly Backend[], conn: Connection): Backend | undefined {
    const stickyId = this.affinity?.lookup(conn.clientIP);
    const sticky = stickyId === undefined ? undefined : backends.find((b) => b.id === stickyId && b.weight > 0);
    const chosen = sticky ?? this.scheduler.pick(backends, conn);
    if (chosen && this.affinity) this.affinity.record(conn.clientIP, chosen.id);
    return chosen;
  }

  /** The endpoints changed: affinity to removed backends is forgotten. */
  endpointsChanged(backends: readonly Backend[]): void {
    this.affinity?.retain(new Set(backends.map((b) => b.id)));
  }
}
