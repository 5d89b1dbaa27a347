import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration (Go time.ParseDuration)', () => {
  it.each([
    ['40s', 40_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2.5s', 2500],
    ['0', 0],
    ['1h', 3_600_000],
    ['-1s', -1000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 's', '1x', '1s2'])('refuses %j', (text) => expect(() => parseDuration(text)).toThrow(/invalid duration/));
});
