/**
 * A work queue with client-go's semantics:
 * - a key is never processed by two workers at once;
 * - adding a key that is waiting is a no-op, and adding one that is being
 *   processed makes it come back once, after `done`;
 * - rate-limited re-adds back off per key exponentially (5 ms → 1000 s) and
 *   are also held to a global token bucket (10/s, burst 100);
 * - `forget` resets a key's back-off after a success.
 */
import { realClock, type Clock } from './clock.js';

export interface RateLimiter {
  when(item: string): number;
  forget(item: string): void;
  numRequeues(item: string): number;
}

/** Per-item exponential back-off: base·2^failures, capped. */
export class ItemExponentialRateLimiter implements RateLimiter {
  private failures = new Map<string, number>();
  constructor(
    private baseMs = 5,
    private maxMs = 1000_000,
  ) {}
  when(item: string): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }
  forget(item: string): void {
    this.failures.delete(item);
  }
  numRequeues(item: string): number {
    return this.failures.get(item) ?? 0;
  }
}

/** A token bucket shared by all items: how long until the next token. */
export class BucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  private reservedUntil = 0;
  constructor(
    private qps = 10,
    private burst = 100,
    private clock: Clock = realClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }
  when(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    // Reserve the next token in line.
    const at = Math.max(now, this.reservedUntil) + 1000 / this.qps;
    this.reservedUntil = at;
    return at - now;
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
}

/** The larger delay of several limiters (client-go's MaxOfRateLimiter). */
export class MaxOfRateLimiter implements RateLimiter {
  constructor(private limiters: RateLimiter[]) {}
  when(item: string): number {
    return Math.max(...this.limiters.map((l) => l.when(item)));
  }
  forget(item: string): void {
    this.limiters.forEach((l) => l.forget(item));
  }
  numRequeues(item: string): number {
    return Math.max(...this.limiters.map((l) => l.numRequeues(item)));
  }
}

export const defaultControllerRateLimiter = (clock: Clock = realClock): RateLimiter =>
  new MaxOfRateLimiter([new ItemExponentialRateLimiter(5, 1000_000), new BucketRateLimiter(10, 100, clock)]);

/** Queues being run under a name: what the workqueue_* metrics (client-go's names) report. */
export const runningQueues = new Set<WorkQueue>();

export class WorkQueue {
  /** The controller's name, once run under one. */
  name = '';
  /** Items ever queued, and re-queued after a failure (workqueue_adds_total, workqueue_retries_total). */
  adds = 0;
  retries = 0;
  private startedAt = new Map<string, number>();
  private queue: string[] = [];
  private dirty = new Set<string>();
  private processing = new Set<string>();
  private waiters: ((item: string | undefined) => void)[] = [];
  private delayed = new Map<string, { at: number; cancel(): void }>();
  private shuttingDown = false;

  constructor(
    private limiter: RateLimiter = defaultControllerRateLimiter(),
    private clock: Clock = realClock,
  ) {}

  add(item: string): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.dirty.add(item);
    this.adds++;
    if (this.processing.has(item)) return;
    const w = this.waiters.shift();
    if (w) {
      this.dirty.delete(item);
      this.take(item);
      w(item);
    } else this.queue.push(item);
  }

  /** Add after `ms`; an earlier pending add of the same item wins. */
  addAfter(item: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(item);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(item);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const t = this.clock.setTimeout(() => {
      this.delayed.delete(item);
      this.add(item);
    }, ms);
    this.delayed.set(item, { at, cancel: t.cancel });
  }

  addRateLimited(item: string): void {
    this.retries++;
    this.addAfter(item, this.limiter.when(item));
  }

  forget(item: string): void {
    this.limiter.forget(item);
  }

  numRequeues(item: string): number {
    return this.limiter.numRequeues(item);
  }

  /** The next item (marked as processing), or undefined once shut down. */
  get(): Promise<string | undefined> {
    const item = this.queue.shift();
    if (item !== undefined) {
      this.dirty.delete(item);
      this.take(item);
      return Promise.resolve(item);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Processing of `item` finished; if it was added meanwhile, it is queued again. */
  done(item: string): void {
    this.processing.delete(item);
    this.startedAt.delete(item);
    if (this.dirty.has(item)) {
      this.dirty.delete(item);
      this.add(item);
    }
  }

  get length(): number {
    return this.queue.length;
  }

  /** Seconds the items being processed have taken so far: their sum and the longest (client-go's stuck-worker signals). */
  processingSeconds(now = this.clock.now()): { total: number; longest: number } {
    let total = 0;
    let longest = 0;
    for (const t of this.startedAt.values()) {
      total += (now - t) / 1000;
      longest = Math.max(longest, (now - t) / 1000);
    }
    return { total, longest };
  }

  private take(item: string): void {
    this.processing.add(item);
    this.startedAt.set(item, this.clock.now());
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /**
   * Run `workers` loops calling `sync(key)`: success forgets the key's
   * back-off; an error re-adds it rate-limited.
   */
  async run(workers: number, sync: (key: string) => Promise<void>, onError?: (key: string, err: unknown) => void, name?: string): Promise<void> {
    if (name) {
      this.name = name;
      runningQueues.add(this);
    }
    const loop = async () => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        try {
          await sync(key);
          this.forget(key);
        } catch (e) {
          onError?.(key, e);
          this.addRateLimited(key);
        } finally {
          this.done(key);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: workers }, loop));
    } finally {
      runningQueues.delete(this);
    }
  }
}
