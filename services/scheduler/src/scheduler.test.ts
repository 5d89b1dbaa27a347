import { describe, expect, it } from 'vitest';
import { backoffLeft } from './scheduler.js';

describe('backoffLeft (kube-scheduler back-off, from the last attempt)', () => {
  it('waits the rest of 1 s after a first failure, nothing once it has run out', () => {
    expect(backoffLeft(1, 10_000, 10_300)).toBe(700);
    expect(backoffLeft(1, 10_000, 11_000)).toBe(0);
    expect(backoffLeft(1, 10_000, 15_000)).toBe(0);
  });
  it('doubles per attempt up to 10 s', () => {
    expect(backoffLeft(2, 0, 0)).toBe(2000);
    expect(backoffLeft(4, 0, 0)).toBe(8000);
    expect(backoffLeft(9, 0, 0)).toBe(10_000);
  });
});
