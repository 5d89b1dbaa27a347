/**
 * Exponential back-off as client-go's wait.NewExponentialBackoffManager: each
 * wait is the previous one times `factor`, capped, plus up to `jitter` times
 * itself at random; it starts over at `initialMs` when the last wait began
 * more than `resetAfterMs` ago (the stream in between was healthy).
 */
export interface BackoffOptions {
  initialMs: number;
  capMs: number;
  resetAfterMs: number;
  factor: number;
  jitter: number;
  now?: () => number;
  /** In [0, 1); injectable so tests know the jitter. */
  random?: () => number;
}

/** What client-go's reflector waits between the ends of watch streams and the next list or watch. */
export const REFLECTOR_BACKOFF: BackoffOptions = { initialMs: 800, capMs: 30_000, resetAfterMs: 120_000, factor: 2, jitter: 1 };

export class ExponentialBackoff {
  private currentMs: number;
  private lastStart = -Infinity;
  private now: () => number;
  private random: () => number;

  constructor(private o: BackoffOptions) {
    this.currentMs = o.initialMs;
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  /** How long to wait now. */
  next(): number {
    const now = this.now();
    if (now - this.lastStart > this.o.resetAfterMs) this.currentMs = this.o.initialMs;
    this.lastStart = now;
    const base = this.currentMs;
    this.currentMs = Math.min(this.currentMs * this.o.factor, this.o.capMs);
    return base + this.random() * this.o.jitter * base;
  }
}
