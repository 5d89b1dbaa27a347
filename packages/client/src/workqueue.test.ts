import { describe, expect, it } from 'vitest';
import { BucketRateLimiter, ItemExponentialRateLimiter, WorkQueue } from './workqueue.js';
import type { Clock } from './clock.js';

class FakeClock implements Clock {
  t = 0;
  timers: { at: number; fn: () => void; live: boolean }[] = [];
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  }
  advance(ms: number) {
    this.t += ms;
    for (const tm of this.timers.filter((x) => x.live && x.at <= this.t)) {
      tm.live = false;
      tm.fn();
    }
  }
}

describe('work queue', () => {
  it('merges adds of a waiting key', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
  });

  it('never hands one key to two workers, and re-queues it once if added during processing', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0); // held back while processing
    q.done(first!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('wakes a waiting worker', async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
  });

  it('backs off per key exponentially from 5 ms and forgets on success', () => {
    const l = new ItemExponentialRateLimiter(5, 1000_000);
    expect([l.when('k'), l.when('k'), l.when('k'), l.when('other')]).toEqual([5, 10, 20, 5]);
    l.forget('k');
    expect(l.when('k')).toBe(5);
    for (let i = 0; i < 40; i++) l.when('k');
    expect(l.when('k')).toBe(1000_000);
  });

  it('holds everyone to a token bucket', () => {
    const clock = new FakeClock();
    const b = new BucketRateLimiter(10, 2, clock);
    expect([b.when(), b.when(), b.when(), b.when()]).toEqual([0, 0, 100, 200]);
  });

  it('adds rate-limited items after their delay', () => {
    const clock = new FakeClock();
    const q = new WorkQueue(new ItemExponentialRateLimiter(5, 1000), clock);
    q.addRateLimited('k');
    expect(q.length).toBe(0);
    clock.advance(5);
    expect(q.length).toBe(1);
  });

  it('runs workers: errors come back with back-off, successes are forgotten', async () => {
    const q = new WorkQueue(new ItemExponentialRateLimiter(1, 10));
    let calls = 0;
    const seen: string[] = [];
    q.add('k');
    const running = q.run(2, (key) => {
      seen.push(key);
      if (++calls < 3) return Promise.reject(new Error('again'));
      q.shutDown();
      return Promise.resolve();
    });
    await running;
    expect(seen).toEqual(['k', 'k', 'k']);
  });
});
