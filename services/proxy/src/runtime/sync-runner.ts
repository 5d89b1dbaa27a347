/**
 * When kube-proxy syncs: client-go's BoundedFrequencyRunner as kube-proxy uses it.
 * Changes only ask for a sync; asks that come while one is due or running merge
 * into one; syncs start at most one per `minIntervalMs` (--min-sync-period, 1 s) on
 * average, through a token bucket of `burst` syncs (kube-proxy's burstSyncs, 2: a
 * change just after a sync is not held back a whole second); with nothing asked, a
 * sync still runs every `maxIntervalMs` (--sync-period, 30 s). After a failure the
 * caller asks for a retry at a later time.
 */

export type SyncReason = 'change' | 'periodic' | 'retry';

/** kube-proxy's proxyutil.FullSyncPeriod: a full sync (the kernel read back, everything rewritten) at least this often. */
export const FULL_SYNC_PERIOD_MS = 3_600_000;

/**
 * Whether a sync rewrites everything, as kube-proxy decides it: after a failure, once per FULL_SYNC_PERIOD_MS, and
 * on a periodic tick when the rules may have been removed behind its back (`rulesLost`: its canary chains are gone,
 * or a data path without canaries). Every other sync writes only what changed: a full sync of thousands of Services
 * takes seconds, and a change arriving during one waits for it. `fullSyncPeriodMs` is Infinity for kube-proxy's
 * nftables mode, which has no hourly full sync.
 */
export function wantsFullSync(reason: SyncReason, sinceLastFullMs: number, rulesLost: boolean, fullSyncPeriodMs = FULL_SYNC_PERIOD_MS): boolean {
  return reason === 'retry' || sinceLastFullMs >= fullSyncPeriodMs || (reason === 'periodic' && rulesLost);
}

export interface RunnerTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: RunnerTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface SyncRunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Syncs that may start back to back (the token bucket's size; one token comes back per minIntervalMs). Default 1. */
  burst?: number;
  timers?: RunnerTimers;
}

export type RunnerState = 'idle' | 'running' | 'stopped';

export class SyncRunner {
  private state: RunnerState = 'idle';
  private requested = false;
  private retryAt: number | undefined;
  /** When a data path asked for a sync of its own (syncWithin), else undefined. */
  private dueAt: number | undefined;
  private requestedAt: number | undefined;
  private lastStart = Number.NEGATIVE_INFINITY;
  /** The token bucket: how many syncs could start at `tokensAt` (full at first, as golang.org/x/time/rate). */
  private tokens: number;
  private tokensAt = Number.NEGATIVE_INFINITY;
  private timer: unknown;
  private current: Promise<void> | undefined;
  private readonly timers: RunnerTimers;

  /** `fn` must not throw: it logs its own failures and calls retryAfter. */
  constructor(
    private readonly fn: (reason: SyncReason) => Promise<void>,
    private readonly o: SyncRunnerOptions,
  ) {
    this.timers = o.timers ?? realTimers;
    this.tokens = o.burst ?? 1;
  }

  /** Tokens at `now`: one more per minIntervalMs since `tokensAt`, up to the bucket's size. */
  private tokensAtTime(now: number): number {
    const burst = this.o.burst ?? 1;
    return this.tokensAt === Number.NEGATIVE_INFINITY ? burst : Math.min(burst, this.tokens + (now - this.tokensAt) / this.o.minIntervalMs);
  }

  /** The first sync right away, then on demand and periodically. */
  start(): void {
    this.ask();
    this.schedule();
  }

  /** Ask for a sync: at once if the last one started long enough ago, else as soon as allowed. */
  run(): void {
    if (this.state === 'stopped') return;
    this.ask();
    if (this.state === 'idle') this.schedule();
  }

  /** Sync again no later than `ms` from now (still no sooner than the minimum interval allows). */
  retryAfter(ms: number): void {
    if (this.state === 'stopped') return;
    const at = this.timers.now() + ms;
    this.retryAt = this.retryAt === undefined ? at : Math.min(this.retryAt, at);
    if (this.state === 'idle') this.schedule();
  }

  /**
   * A sync no later than `ms` from now (no sooner than the minimum interval allows), as a periodic one: a data path's
   * own housekeeping (nftables mode's stale chains waiting to be deleted), not a change and not a retry.
   */
  syncWithin(ms: number): void {
    if (this.state === 'stopped') return;
    const at = this.timers.now() + ms;
    this.dueAt = this.dueAt === undefined ? at : Math.min(this.dueAt, at);
    if (this.state === 'idle') this.schedule();
  }

  /** When the oldest ask not yet served was made (for /healthz), else undefined. */
  get pendingSince(): number | undefined {
    return this.requested ? this.requestedAt : undefined;
  }

  private ask(): void {
    if (!this.requested) this.requestedAt = this.timers.now();
    this.requested = true;
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    await this.current;
  }

  private schedule(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.state !== 'idle') return;
    const now = this.timers.now();
    // The earliest a sync may start: now if a token is left, else when the next one comes back.
    const available = this.tokensAtTime(now);
    const earliest = available >= 1 ? now : now + Math.ceil((1 - available) * this.o.minIntervalMs);
    let due = this.requested ? earliest : this.lastStart + this.o.maxIntervalMs;
    if (this.retryAt !== undefined) due = Math.min(due, Math.max(this.retryAt, earliest));
    if (this.dueAt !== undefined) due = Math.min(due, Math.max(this.dueAt, earliest));
    this.timer = this.timers.setTimeout(() => this.tick(), Math.max(0, due - now));
  }

  private tick(): void {
    this.timer = undefined;
    if (this.state !== 'idle') return;
    const now = this.timers.now();
    const reason: SyncReason = this.requested ? 'change' : this.retryAt !== undefined && this.retryAt <= now ? 'retry' : 'periodic';
    this.requested = false;
    this.requestedAt = undefined;
    if (reason !== 'periodic') this.retryAt = undefined;
    // Any sync serves a data path's ask for one.
    this.dueAt = undefined;
    this.lastStart = now;
    this.tokens = Math.max(0, this.tokensAtTime(now) - 1);
    this.tokensAt = now;
    this.state = 'running';
    this.current = this.fn(reason).finally(() => {
      if (this.state === 'running') {
        this.state = 'idle';
        this.schedule();
      }
    });
  }
}
