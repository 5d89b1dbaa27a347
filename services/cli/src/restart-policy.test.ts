import { describe, expect, it } from 'vitest';
import { formatRestart, parseRestart } from './restart-policy.js';

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

  it.each(['no', 'always', 'unless-stopped', 'on-failure', 'on-failure:3'])('writes %s back as it was', (v) => expect(formatRestart(parseRestart(v))).toBe(v));
});
