import { describe, expect, it } from 'vitest';
import { MAX_DELAY_MS, nextDelay, parseRestart, shouldRestart } from './restart-policy.js';

describe('compose restart policies', () => {
  it.each([
    [undefined, { kind: 'no' }],
    ['no', { kind: 'no' }],
    ['always', { kind: 'always' }],
    ['unless-stopped', { kind: 'unless-stopped' }],
    ['on-failure', { kind: 'on-failure' }],
    ['on-failure:3', { kind: 'on-failure', maxRetries: 3 }],
  ])('reads %j', (v, want) => expect(parseRestart(v)).toEqual(want));

  it('refuses what compose refuses', () => expect(() => parseRestart('sometimes')).toThrow('restart "sometimes"'));

  it.each([
    ['no', 1, 0, false],
    ['always', 0, 5, true],
    ['unless-stopped', 0, 100, true],
    ['unless-stopped', null, 0, true],
    ['on-failure', 0, 0, false],
    ['on-failure', 1, 10, true],
    ['on-failure', null, 0, true],
    ['on-failure:2', 1, 1, true],
    ['on-failure:2', 1, 2, false],
  ] as const)('%s, exit %j after %i restarts: restart %j', (v, code, restarts, want) => expect(shouldRestart(parseRestart(v), code, restarts)).toBe(want));
});

describe("Docker's back-off", () => {
  it('starts at 100 ms and doubles while the process keeps dying young', () => {
    const delays: number[] = [];
    let d = 0;
    for (let i = 0; i < 5; i++) delays.push((d = nextDelay(d, 50)));
    expect(delays).toEqual([100, 200, 400, 800, 1600]);
  });
  it('stops doubling at a minute', () => {
    expect(nextDelay(40_000, 0)).toBe(MAX_DELAY_MS);
    expect(nextDelay(MAX_DELAY_MS, 0)).toBe(MAX_DELAY_MS);
  });
  it('starts over after a process ran 10 s', () => {
    expect(nextDelay(6400, 10_000)).toBe(100);
    expect(nextDelay(6400, 9_999)).toBe(12_800);
  });
});
