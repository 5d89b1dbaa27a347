/**
 * One priority level's seats and queues (APF's queueset): a request runs at
 * once when a seat is free and nothing waits; otherwise it waits in the
 * shortest queue of its flow's hand (shuffle sharding: a flow hashes to
 * `handSize` of the level's queues, so a flooding flow fills its own queues
 * and rarely all of another's), and a freed seat goes to the queues in turn.
 * A request is rejected when its queue is full or it has waited past the
 * wait limit. Timers come in through the constructor, so tests drive them.
 *
 * Kubernetes orders the queues by virtual finish time (fair queuing with
 * work estimates); kemu serves the non-empty queues round-robin, which is
 * the same order while requests cost about the same.
 */
import { createHash } from 'node:crypto';

export type RejectReason = 'queue-full' | 'concurrency-limit' | 'time-out';

export type Admission = { kind: 'dispatched'; release: () => void } | { kind: 'rejected'; reason: RejectReason };

export interface QueueSetConfig {
  seats: number;
  /** Without queuing, a request that finds no free seat is rejected. */
  queuing?: { queues: number; handSize: number; queueLengthLimit: number };
  /** How long a request may wait in a queue, in ms. */
  waitLimitMs: number;
}

export interface Timers {
  set(fn: () => void, ms: number): () => void;
}

export const realTimers: Timers = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

interface Waiter {
  queue: number;
  done: (a: Admission) => void;
  cancelTimer: () => void;
}

/** The queues a flow may use: `handSize` distinct cards dealt from `deckSize` by the flow's hash (APF's shuffle-sharding dealer). */
export function dealHand(flowKey: string, deckSize: number, handSize: number): number[] {
  let h = BigInt('0x' + createHash('sha256').update(flowKey).digest('hex').slice(0, 16));
  const deck = Array.from({ length: deckSize }, (_, i) => i);
  const hand: number[] = [];
  for (let i = 0; i < Math.min(handSize, deckSize); i++) {
    const remaining = BigInt(deckSize - i);
    const pick = Number(h % remaining);
    h /= remaining;
    hand.push(deck[pick]);
    deck[pick] = deck[deckSize - i - 1];
  }
  return hand;
}

export class QueueSet {
  private executing = 0;
  private readonly queues: Waiter[][];
  /** Requests running that came from each queue: a busy flow's queue counts as longer. */
  private readonly executingFrom: number[];
  private cursor = 0;

  constructor(
    private readonly config: QueueSetConfig,
    private readonly timers: Timers = realTimers,
  ) {
    const n = config.queuing?.queues ?? 0;
    this.queues = Array.from({ length: n }, () => []);
    this.executingFrom = new Array<number>(n).fill(0);
  }

  get inFlight(): number {
    return this.executing;
  }

  get waiting(): number {
    return this.queues.reduce((s, q) => s + q.length, 0);
  }

  /**
   * Ask for a seat for a request of `flowKey`. `done` is called exactly once:
   * at once, or when a seat frees, or on rejection. The returned function
   * withdraws a request still waiting (its client went away).
   */
  request(flowKey: string, done: (a: Admission) => void): () => void {
    if (this.executing < this.config.seats && this.waiting === 0) {
      done(this.dispatch(-1));
      return () => undefined;
    }
    const q = this.config.queuing;
    if (!q) {
      done({ kind: 'rejected', reason: 'concurrency-limit' });
      return () => undefined;
    }
    const hand = dealHand(flowKey, q.queues, q.handSize);
    const queue = hand.reduce((best, i) => (this.load(i) < this.load(best) ? i : best), hand[0]);
    if (this.queues[queue].length >= q.queueLengthLimit) {
      done({ kind: 'rejected', reason: 'queue-full' });
      return () => undefined;
    }
    const w: Waiter = { queue, done, cancelTimer: () => undefined };
    w.cancelTimer = this.timers.set(() => {
      if (this.remove(w)) done({ kind: 'rejected', reason: 'time-out' });
    }, this.config.waitLimitMs);
    this.queues[queue].push(w);
    this.dispatchWaiting();
    return () => {
      if (this.remove(w)) w.cancelTimer();
    };
  }

  private load(i: number): number {
    return this.queues[i].length + this.executingFrom[i];
  }

  private remove(w: Waiter): boolean {
    const q = this.queues[w.queue];
    const i = q.indexOf(w);
    if (i < 0) return false;
    q.splice(i, 1);
    return true;
  }

  private dispatch(queue: number): Admission {
    this.executing++;
    if (queue >= 0) this.executingFrom[queue]++;
    let released = false;
    return {
      kind: 'dispatched',
      release: () => {
        if (released) return;
        released = true;
        this.executing--;
        if (queue >= 0) this.executingFrom[queue]--;
        this.dispatchWaiting();
      },
    };
  }

  /** Give free seats to the waiting requests, one queue after the other. */
  private dispatchWaiting(): void {
    const n = this.queues.length;
    while (this.executing < this.config.seats && this.waiting > 0) {
      for (let k = 0; k < n; k++) {
        const i = (this.cursor + k) % n;
        const w = this.queues[i].shift();
        if (!w) continue;
        this.cursor = (i + 1) % n;
        w.cancelTimer();
        w.done(this.dispatch(i));
        break;
      }
    }
  }
}

/**
 * The Retry-After a rejected request is told, in seconds (kube-apiserver's
 * dropped-requests tracker): 1 while rejections are rare; doubled, up to 32,
 * while rejections go on for as long as the current value; halved after as
 * long a quiet spell.
 */
export class RetryAfter {
  private value = 1;
  private since: number;
  private lastDrop = -Infinity;
  private dropsSince = 0;

  constructor(private readonly nowSeconds: () => number = () => Date.now() / 1000) {
    this.since = nowSeconds();
  }

  /** Note a rejection and say what Retry-After to send with it. */
  dropped(): number {
    const now = this.nowSeconds();
    this.adjust(now);
    this.lastDrop = now;
    this.dropsSince++;
    return this.value;
  }

  current(): number {
    this.adjust(this.nowSeconds());
    return this.value;
  }

  private adjust(now: number): void {
    if (now - this.since < this.value) return;
    if (this.dropsSince === 0 || now - this.lastDrop >= 2 * this.value) this.value = Math.max(1, this.value / 2);
    else if (this.dropsSince >= this.value) this.value = Math.min(32, this.value * 2);
    this.since = now;
    this.dropsSince = 0;
  }
}
