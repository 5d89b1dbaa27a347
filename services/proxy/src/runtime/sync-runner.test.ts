import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FULL_SYNC_PERIOD_MS, SyncRunner, wantsFullSync, type SyncReason } from './sync-runner.js';

describe('SyncRunner (BoundedFrequencyRunner)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());
  const advance = (ms: number): Promise<unknown> => vi.advanceTimersByTimeAsync(ms);

  /**
   * A started runner whose first sync (at start, time 0) has run; `later()` lists
   * the syncs after it as [time, reason]. `work(n)` is the body of the n-th sync.
   */
  const started = async (work: (n: number) => Promise<void> = () => Promise.resolve()) => {
    const runs: [number, SyncReason][] = [];
    const r = new SyncRunner(
      async (reason) => {
        runs.push([Date.now(), reason]);
        await work(runs.length);
      },
      { minIntervalMs: 1000, maxIntervalMs: 30_000 },
    );
    r.start();
    await advance(0);
    expect(runs).toEqual([[0, 'change']]);
    return { r, later: () => runs.slice(1) };
  };

  /** A step of a timeline: let this many ms pass, a change, a retry request, or stop. */
  type Step = number | 'change' | { retryAfter: number } | { syncWithin: number } | 'stop';
  const CASES: { what: string; steps: Step[]; syncs: [number, SyncReason][] }[] = [
    {
      what: 'coalesces a burst of changes into one sync a minimum interval after the last',
      steps: [100, 'change', 'change', 500, 'change', 1000],
      syncs: [[1000, 'change']],
    },
    { what: 'runs a change at once when the last sync is long enough ago', steps: [5000, 'change', 0], syncs: [[5000, 'change']] },
    {
      what: 'syncs periodically without changes, counting from the last sync',
      steps: [10_000, 'change', 45_000],
      syncs: [
        [10_000, 'change'],
        [40_000, 'periodic'],
      ],
    },
    { what: 'retries when asked, no sooner than the minimum interval', steps: [{ retryAfter: 200 }, 5000], syncs: [[1000, 'retry']] },
    {
      what: 'syncs when the data path asks (its stale chains are due), as a periodic sync, once, then every sync period',
      steps: [{ syncWithin: 1500 }, { syncWithin: 2500 }, 35_000],
      syncs: [
        [1500, 'periodic'],
        [31_500, 'periodic'],
      ],
    },
    { what: "serves a data path's ask no sooner than the minimum interval", steps: [{ syncWithin: 200 }, 5000], syncs: [[1000, 'periodic']] },
    { what: 'does nothing after stop', steps: ['stop', 'change', 60_000], syncs: [] },
  ];

  it.each(CASES)('after the sync at start, $what', async ({ steps, syncs }) => {
    const { r, later } = await started();
    for (const s of steps) {
      if (typeof s === 'number') await advance(s);
      else if (s === 'change') r.run();
      else if (s === 'stop') await r.stop();
      else if ('syncWithin' in s) r.syncWithin(s.syncWithin);
      else r.retryAfter(s.retryAfter);
    }
    expect(later()).toEqual(syncs);
  });

  it('with a burst of 2 (kube-proxy), a change just after a sync runs at once, the next one waits for a token', async () => {
    const runs: number[] = [];
    const r = new SyncRunner(
      async () => {
        runs.push(Date.now());
        await Promise.resolve();
      },
      { minIntervalMs: 1000, maxIntervalMs: 30_000, burst: 2 },
    );
    r.start();
    await advance(100);
    r.run();
    await advance(100);
    r.run();
    await advance(2000);
    // Tokens: 2 at start; 1 left after the sync at 0; 1.1 at 100, 0.1 after it; the next whole one at 1000.
    expect(runs).toEqual([0, 100, 1000]);
    await r.stop();
  });

  it('merges changes that arrive during a sync into one sync after it', async () => {
    let release!: () => void;
    const { r, later } = await started((n) => (n === 1 ? new Promise<void>((res) => (release = res)) : Promise.resolve()));
    r.run();
    r.run();
    expect(r.pendingSince).toBe(0);
    await advance(3000);
    expect(later()).toEqual([]);
    release();
    await advance(0);
    expect(later()).toEqual([[3000, 'change']]);
    expect(r.pendingSince).toBeUndefined();
  });
});

describe('full or partial (kube-proxy since 1.28)', () => {
  const CASES: { reason: SyncReason; sinceLastFullMs: number; rulesLost: boolean; full: boolean }[] = [
    { reason: 'change', sinceLastFullMs: 60_000, rulesLost: false, full: false },
    { reason: 'periodic', sinceLastFullMs: 60_000, rulesLost: false, full: false },
    { reason: 'periodic', sinceLastFullMs: 60_000, rulesLost: true, full: true },
    { reason: 'change', sinceLastFullMs: 60_000, rulesLost: true, full: false },
    { reason: 'retry', sinceLastFullMs: 0, rulesLost: false, full: true },
    { reason: 'change', sinceLastFullMs: FULL_SYNC_PERIOD_MS, rulesLost: false, full: true },
  ];
  it.each(CASES)(
    '$reason, $sinceLastFullMs ms after the last full sync, rules lost: $rulesLost → full: $full',
    ({ reason, sinceLastFullMs, rulesLost, full }) => {
      expect(wantsFullSync(reason, sinceLastFullMs, rulesLost)).toBe(full);
    },
  );
  it('nftables mode (no hourly full sync): full only after a failure or when its table is gone', () => {
    expect(wantsFullSync('change', 10 * FULL_SYNC_PERIOD_MS, false, Infinity)).toBe(false);
    expect(wantsFullSync('retry', 0, false, Infinity)).toBe(true);
    expect(wantsFullSync('periodic', 0, true, Infinity)).toBe(true);
  });
});
