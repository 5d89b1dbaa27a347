import { describe, expect, it } from 'vitest';
import { proxyHealth } from './health.js';
import { ProgrammingLatency, TRIGGER_TIME_ANNOTATION } from './metrics.js';

describe('/healthz', () => {
  it.each([
    [undefined, undefined, 1000, false, 'nothing programmed yet'],
    [500, undefined, 1000, true, 'synced, nothing waiting'],
    [500, 900, 1000, true, 'a change waiting less than the timeout'],
    [500, 100, 100_000, false, 'a change waiting longer than the timeout'],
  ])(
    'lastUpdated %s, pending since %s, now %s: healthy %s (%s)',
    (lastUpdated: number | undefined, pendingSince: number | undefined, now: number, healthy: boolean, why: string) => {
      expect(why).toBeTruthy();
      expect(proxyHealth({ lastUpdated, pendingSince, now, timeoutMs: 60_000 }).healthy).toBe(healthy);
    },
  );
});

describe('network programming latency', () => {
  it('starts at the trigger-time annotation when present, else when the proxy saw the change', () => {
    const l = new ProgrammingLatency();
    l.record({ [TRIGGER_TIME_ANNOTATION]: '2024-01-01T00:00:00Z' }, 5);
    l.record(undefined, 7);
    l.record({ [TRIGGER_TIME_ANNOTATION]: 'garbage' }, 9);
    const taken = l.take();
    expect(taken).toEqual([Date.parse('2024-01-01T00:00:00Z'), 7, 9]);
    expect(l.take()).toEqual([]);
    l.putBack(taken);
    expect(l.take()).toHaveLength(3);
  });
});
