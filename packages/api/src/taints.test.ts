import { describe, expect, it } from 'vitest';
import { evictionTime, tolerates } from './taints.js';

const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-01-01T00:00:00Z' };
const t0 = Date.parse('2026-01-01T00:00:00Z');

describe('taints', () => {
  it('matches tolerations as Kubernetes does', () => {
    expect(tolerates([{ operator: 'Exists' }], { key: 'a', value: 'b', effect: 'NoSchedule' })).toBe(true);
    expect(tolerates([{ key: 'a', operator: 'Equal', value: 'b' }], { key: 'a', value: 'b', effect: 'NoExecute' })).toBe(true);
    expect(tolerates([{ key: 'a', operator: 'Equal', value: 'c' }], { key: 'a', value: 'b', effect: 'NoExecute' })).toBe(false);
    expect(tolerates([{ key: 'a', operator: 'Exists', effect: 'NoSchedule' }], { key: 'a', effect: 'NoExecute' })).toBe(false);
  });

  it('evicts at once, after the shortest tolerationSeconds, or never', () => {
    expect(evictionTime([], [unreachable], t0)).toBe('now');
    expect(evictionTime([], [{ key: 'x', effect: 'NoSchedule' }], t0)).toBe('never');
    expect(evictionTime([{ key: unreachable.key, operator: 'Exists', effect: 'NoExecute' }], [unreachable], t0)).toBe('never');
    const tols = [
      { key: unreachable.key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { operator: 'Exists', tolerationSeconds: 60 },
    ];
    expect(evictionTime(tols, [unreachable], t0 + 1000)).toBe(t0 + 60_000);
    expect(evictionTime(tols, [unreachable], t0 + 60_000)).toBe('now');
    // One untolerated taint is enough.
    expect(evictionTime(tols.slice(0, 1), [unreachable, { key: 'maintenance', effect: 'NoExecute' }], t0)).toBe('now');
  });
});
