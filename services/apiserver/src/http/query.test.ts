import { describe, expect, it } from 'vitest';
import { normalizeBools, parseQueryBool, queryBool } from './query.js';

describe('boolean query parameters (Kubernetes: only absence, 0 and false are false)', () => {
  it.each([
    [null, false],
    ['0', false],
    ['false', false],
    ['False', false],
    ['FALSE', false],
    ['true', true],
    ['True', true], // the official Python client
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['', true], // `?watch` and `?watch=`: present, so true
    ['00', true],
  ])('%j → %s', (value, want) => {
    expect(parseQueryBool(value)).toBe(want);
  });

  it('reads a parameter from the query string', () => {
    const q = new URLSearchParams('watch=True&follow=0&stdin');
    expect([queryBool(q, 'watch'), queryBool(q, 'follow'), queryBool(q, 'stdin'), queryBool(q, 'tty')]).toEqual([true, false, true, false]);
  });

  it('rewrites the named booleans as true/false and leaves everything else alone', () => {
    const q = new URLSearchParams('command=ls&command=-l&stdin=True&stdout=1&tty=FALSE&container=c');
    expect(normalizeBools(q, ['stdin', 'stdout', 'stderr', 'tty']).toString()).toBe('command=ls&command=-l&stdin=true&stdout=true&tty=false&container=c');
  });
});
