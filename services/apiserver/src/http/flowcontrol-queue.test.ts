import { describe, expect, it } from 'vitest';
import { dealHand, QueueSet, RetryAfter, type Admission, type Timers } from './flowcontrol-queue.js';

/** Timers the test fires by hand. */
function manualTimers(): Timers & { fire(): void } {
  const pending = new Set<() => void>();
  return {
    set(fn) {
      pending.add(fn);
      return () => pending.delete(fn);
    },
    fire() {
      for (const fn of [...pending]) {
        pending.delete(fn);
        fn();
      }
    },
  };
}

function ask(qs: QueueSet, flow: string): { got: Admission[]; withdraw: () => void } {
  const got: Admission[] = [];
  const withdraw = qs.request(flow, (a) => got.push(a));
  return { got, withdraw };
}

const release = (a: Admission | undefined) => (a?.kind === 'dispatched' ? a.release() : expect.unreachable());

describe('a priority level: seats and queues', () => {
  const queuing = { queues: 8, handSize: 2, queueLengthLimit: 2 };

  it('runs requests at once while seats are free, then queues them, then refuses them', () => {
    const qs = new QueueSet({ seats: 2, queuing, waitLimitMs: 1000 }, manualTimers());
    const a = ask(qs, 'flood');
    const b = ask(qs, 'flood');
    expect([a.got[0]?.kind, b.got[0]?.kind]).toEqual(['dispatched', 'dispatched']);
    const waiting = [ask(qs, 'flood'), ask(qs, 'flood'), ask(qs, 'flood'), ask(qs, 'flood')];
    expect(waiting.every((w) => w.got.length === 0)).toBe(true);
    expect(qs.waiting).toBe(4);
    // The flow's hand is two queues of two: the fifth waiting request finds them full.
    const over = ask(qs, 'flood');
    expect(over.got).toEqual([{ kind: 'rejected', reason: 'queue-full' }]);
    release(a.got[0]);
    expect(waiting.filter((w) => w.got[0]?.kind === 'dispatched')).toHaveLength(1);
    expect(qs.inFlight).toBe(2);
  });

  it('serves another flow in turn with the flood, not after it', () => {
    const qs = new QueueSet({ seats: 1, queuing: { queues: 64, handSize: 1, queueLengthLimit: 50 }, waitLimitMs: 1000 }, manualTimers());
    let flowB = 'b0';
    for (let i = 0; dealHand(flowB, 64, 1)[0] === dealHand('a', 64, 1)[0]; i++) flowB = `b${i}`;
    const first = ask(qs, 'a');
    const flood = Array.from({ length: 10 }, () => ask(qs, 'a'));
    const other = ask(qs, flowB);
    release(first.got[0]);
    release(flood[0].got[0]);
    // After one more of the flood, the other flow's request runs.
    expect(other.got[0]?.kind).toBe('dispatched');
    expect(flood.filter((f) => f.got.length > 0)).toHaveLength(1);
  });

  it('refuses a request that waited past the limit, and forgets one whose client left', () => {
    const timers = manualTimers();
    const qs = new QueueSet({ seats: 1, queuing, waitLimitMs: 1000 }, timers);
    ask(qs, 'x');
    const gone = ask(qs, 'y');
    const slow = ask(qs, 'z');
    gone.withdraw();
    expect(qs.waiting).toBe(1);
    timers.fire();
    expect(slow.got).toEqual([{ kind: 'rejected', reason: 'time-out' }]);
    expect(gone.got).toEqual([]);
    expect(qs.waiting).toBe(0);
  });

  it('without queues (catch-all) refuses what finds no seat', () => {
    const qs = new QueueSet({ seats: 1, waitLimitMs: 1000 }, manualTimers());
    ask(qs, 'a');
    expect(ask(qs, 'b').got).toEqual([{ kind: 'rejected', reason: 'concurrency-limit' }]);
  });

  it('deals a flow the same distinct queues every time', () => {
    const hand = dealHand('system:serviceaccount:default:bot', 128, 6);
    expect(new Set(hand).size).toBe(6);
    expect(hand.every((q) => q >= 0 && q < 128)).toBe(true);
    expect(dealHand('system:serviceaccount:default:bot', 128, 6)).toEqual(hand);
  });
});

describe('Retry-After', () => {
  it('starts at 1 s, doubles while rejections go on, and comes back down when they stop', () => {
    let now = 0;
    const r = new RetryAfter(() => now);
    expect(r.dropped()).toBe(1);
    now = 1;
    expect(r.dropped()).toBe(2);
    now = 2;
    expect(r.dropped()).toBe(2);
    now = 3;
    expect(r.dropped()).toBe(4);
    now = 20;
    expect(r.current()).toBe(2);
    now = 40;
    expect(r.current()).toBe(1);
  });
});
