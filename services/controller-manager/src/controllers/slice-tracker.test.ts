import { describe, expect, it } from 'vitest';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { SliceTracker } from './slice-tracker.js';

const slice = (uid: string, rv: number): EndpointSlice => ({
  addressType: 'IPv4',
  endpoints: [],
  metadata: { name: `web-${uid}`, namespace: 'ns', uid, resourceVersion: String(rv), labels: { 'kubernetes.io/service-name': 'web' } },
});

describe('SliceTracker', () => {
  it('ignores the events of its own writes, not later ones', () => {
    const t = new SliceTracker();
    expect(t.shouldSync(slice('a', 5))).toBe(true);
    t.update(slice('a', 5));
    expect(t.shouldSync(slice('a', 5))).toBe(false);
    expect(t.shouldSync(slice('a', 6))).toBe(true);
  });

  it.each([
    ['the cache has the version written', [slice('a', 5)], false],
    ['the cache has an older version', [slice('a', 4)], true],
    ['the cache lacks a slice written', [], true],
  ])('stale when … %s: %s', (_what, cached, want) => {
    const t = new SliceTracker();
    t.update(slice('a', 5));
    expect(t.stale('ns/web', 'svc-uid', cached)).toBe(want);
  });

  it('a slice deleted is stale while the cache still has it; its deletion event is expected', () => {
    const t = new SliceTracker();
    t.expectDeletion(slice('a', 5));
    expect(t.stale('ns/web', 'svc-uid', [slice('a', 5)])).toBe(true);
    expect(t.stale('ns/web', 'svc-uid', [])).toBe(false);
    expect(t.handleDeletion(slice('a', 6))).toBe(true);
  });

  it('a deletion nobody asked for is news; a Service made again starts afresh', () => {
    const t = new SliceTracker();
    t.update(slice('a', 5));
    expect(t.handleDeletion(slice('a', 6))).toBe(false);
    t.update(slice('b', 7));
    t.stale('ns/web', 'uid-1', [slice('b', 7)]);
    expect(t.stale('ns/web', 'uid-2', [])).toBe(false);
  });
});
