import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SyncRunner, type SyncReason } from './sync-runner.js';

describe('SyncRunner (BoundedFrequencyRunner)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const setup = (work: () => Promise<void> = () => Promise.resolve()) => {
    const runs: [number, SyncReason][] = [];
    const r = new SyncRunner(
      async (reason) => {
        runs.push([Date.now(), reason]);
        await work();
      },
      { minIntervalMs: 1000, maxIntervalMs: 30_000 },
    );
    return { r, runs };
  };

  it('syncs at start, then coalesces a burst of changes into one sync a minimum interval later', async () => {
    const { r, runs } = setup();
    r.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([[0, 'change']]);
    await vi.advanceTimersByTimeAsync(100);
    r.run();
    r.run();
    await vi.advanceTimersByTimeAsync(500);
    r.run();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toEqual([
      [0, 'change'],
      [1000, 'change'],
    ]);
  });

  it('runs a change at once when the last sync is long enough ago', async () => {
    const { r, runs } = setup();
    r.start();
    await vi.advanceTimersByTimeAsync(5000);
    r.run();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs.map(([t]) => t)).toEqual([0, 5000]);
  });

  it('syncs periodically without changes, counting from the last sync', async () => {
    const { r, runs } = setup();
    r.start();
    await vi.advanceTimersByTimeAsync(10_000);
    r.run();
    await vi.advanceTimersByTimeAsync(45_000);
    expect(runs).toEqual([
      [0, 'change'],
      [10_000, 'change'],
      [40_000, 'periodic'],
    ]);
  });

  it('merges changes that arrive during a sync into one sync after it', async () => {
    let release!: () => void;
    const { r, runs } = setup(() => (runs.length === 1 ? new Promise<void>((res) => (release = res)) : Promise.resolve()));
    r.start();
    await vi.advanceTimersByTimeAsync(0);
    r.run();
    r.run();
    expect(r.pendingSince).toBe(0);
    await vi.advanceTimersByTimeAsync(3000);
    expect(runs).toHaveLength(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([
      [0, 'change'],
      [3000, 'change'],
    ]);
    expect(r.pendingSince).toBeUndefined();
  });

  it('retries when asked, no sooner than the minimum interval', async () => {
    const { r, runs } = setup();
    r.start();
    await vi.advanceTimersByTimeAsync(0);
    r.retryAfter(200);
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toEqual([
      [0, 'change'],
      [1000, 'retry'],
    ]);
  });

  it('does nothing after stop', async () => {
    const { r, runs } = setup();
    r.start();
    await vi.advanceTimersByTimeAsync(0);
    await r.stop();
    r.run();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toHaveLength(1);
  });
});
