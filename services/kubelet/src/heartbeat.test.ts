import { describe, expect, it } from 'vitest';
import { FAST_STATUS_GRACE_MS, FAST_STATUS_MS, leaseDelayMs, leaseTimings, statusDelayMs } from './heartbeat.js';

const t = leaseTimings(40, 10_000);

describe('kubelet heartbeat timing', () => {
  it.each([
    { failures: 0, ms: 10_000, why: 'renewed: the next one a period later' },
    { failures: 1, ms: 200, why: 'failed once: again soon' },
    { failures: 2, ms: 400, why: 'doubling' },
    { failures: 5, ms: 3200, why: 'doubling' },
    { failures: 6, ms: 6400, why: 'doubling' },
    { failures: 7, ms: 7000, why: 'at most the lease controller maxBackoff' },
    { failures: 40, ms: 7000, why: 'still at most maxBackoff' },
  ])('waits $ms ms for the lease after $failures failures ($why)', ({ failures, ms }) => {
    expect(leaseDelayMs(failures, t)).toBe(ms);
  });

  it.each([
    { saidReady: false, since: 0, ms: FAST_STATUS_MS, why: 'a new node posts every 100 ms until Ready' },
    { saidReady: false, since: FAST_STATUS_GRACE_MS - 1, ms: FAST_STATUS_MS, why: 'within the 120 s grace' },
    { saidReady: false, since: FAST_STATUS_GRACE_MS, ms: 10_000, why: 'never Ready in the grace: back to the period' },
    { saidReady: true, since: 50, ms: 10_000, why: 'Ready: nodeStatusUpdateFrequency' },
  ])('posts status after $ms ms ($why)', ({ saidReady, since, ms }) => {
    expect(statusDelayMs(saidReady, since, t)).toBe(ms);
  });
});

describe('leaseTimings', () => {
  it('renews a lease every quarter of its duration, as the kubelet does', () => {
    expect(leaseTimings(40, 10_000)).toEqual({ leaseDurationSeconds: 40, leaseRenewMs: 10_000, statusMs: 10_000 });
    expect(leaseTimings(4, 2000)).toEqual({ leaseDurationSeconds: 4, leaseRenewMs: 1000, statusMs: 2000 });
  });
});
