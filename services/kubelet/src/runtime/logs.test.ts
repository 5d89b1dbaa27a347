import { describe, expect, it } from 'vitest';
import { formatEntry, parseLog, renderLog } from './logs.js';

const log = [
  { time: '2026-01-01T00:00:01.000000000Z', stream: 'stdout', partial: false, text: 'one' },
  { time: '2026-01-01T00:00:02.000000000Z', stream: 'stderr', partial: true, text: 'tw' },
  { time: '2026-01-01T00:00:03.000000000Z', stream: 'stderr', partial: false, text: 'o' },
  { time: '2026-01-01T00:00:04.000000000Z', stream: 'stdout', partial: false, text: 'three has  spaces ' },
] as const;
const text = log.map((e) => formatEntry({ ...e })).join('');

describe('CRI logs', () => {
  it('round-trips entries, spaces kept', () => {
    expect(parseLog(text)).toEqual(log);
  });
  it('renders lines with partials joined, tail, since and timestamps as kubectl logs shows them', () => {
    expect(renderLog(text)).toBe('one\ntwo\nthree has  spaces \n');
    expect(renderLog(text, { tailLines: 2 })).toBe('two\nthree has  spaces \n');
    expect(renderLog(text, { tailLines: 0 })).toBe('');
    expect(renderLog(text, { sinceTime: '2026-01-01T00:00:03Z' })).toBe('o\nthree has  spaces \n');
    expect(renderLog(text, { timestamps: true, tailLines: 1 })).toBe('2026-01-01T00:00:04.000000000Z three has  spaces \n');
    expect(renderLog(text, { limitBytes: 5 })).toBe('one\nt');
  });
  it('ignores lines that are not CRI entries', () => {
    expect(parseLog('garbage\n\n')).toEqual([]);
  });
});
