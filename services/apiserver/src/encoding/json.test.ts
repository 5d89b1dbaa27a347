import { describe, expect, it } from 'vitest';
import { jsonDepth, parseJsonBody } from './json.js';

describe('request bodies', () => {
  it('measures nesting without being fooled by strings', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[["}]}')).toBe(3);
  });
  it('refuses deeply nested JSON with a 400 instead of recursing', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(() => parseJsonBody(deep)).toThrow(/exceeded max depth/);
  });
  it('answers malformed JSON with a 400', () => {
    try {
      parseJsonBody('{"a":');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: number }).code).toBe(400);
    }
  });
});
