import { describe, expect, it } from 'vitest';
import { formatMicroTime, formatNanoTime, formatTime, parseTime } from './time.js';

const at = Date.UTC(2024, 0, 2, 3, 4, 5, 123);

describe('formatting', () => {
  it.each([
    ['metav1.Time', formatTime, '2024-01-02T03:04:05Z'],
    ['metav1.MicroTime', formatMicroTime, '2024-01-02T03:04:05.123000Z'],
    ['CRI log time', formatNanoTime, '2024-01-02T03:04:05.123000000Z'],
  ])('%s', (_name, format, want) => {
    expect(format(at)).toBe(want);
    expect(format(new Date(at))).toBe(want);
  });
  it.each([
    [Date.UTC(2024, 0, 2, 3, 4, 5, 999), '2024-01-02T03:04:05Z', '2024-01-02T03:04:05.999000Z'],
    [Date.UTC(2024, 0, 2, 3, 4, 5, 0), '2024-01-02T03:04:05Z', '2024-01-02T03:04:05.000000Z'],
    [0, '1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000000Z'],
  ])('%d: seconds are truncated, never rounded up', (ms, time, micro) => {
    expect(formatTime(ms)).toBe(time);
    expect(formatMicroTime(ms)).toBe(micro);
  });
  it('formats now by default', () => expect(formatTime()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/));
});

describe('parseTime', () => {
  it.each([
    ['2024-01-02T03:04:05Z', Date.UTC(2024, 0, 2, 3, 4, 5)],
    ['2024-01-02T03:04:05.123000Z', at],
    ['2024-01-02T03:04:05.123456789Z', at],
    ['2024-01-02T03:04:05.1Z', Date.UTC(2024, 0, 2, 3, 4, 5, 100)],
    ['2024-01-02T05:04:05+02:00', Date.UTC(2024, 0, 2, 3, 4, 5)],
    ['2024-01-02T01:34:05-01:30', Date.UTC(2024, 0, 2, 3, 4, 5)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('%s', (text, want) => expect(parseTime(text)).toBe(want));
  it.each([
    '',
    '2024-01-02',
    '2024-01-02 03:04:05Z',
    '2024-01-02T03:04:05',
    '2024-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-01-02T24:00:00Z',
    '2024-01-02T03:60:00Z',
    '2024-01-02T03:04:05.Z',
    'yesterday',
    5,
    undefined,
    null,
  ])('refuses %j', (text) => expect(parseTime(text)).toBeUndefined());
  it.each([formatTime, formatMicroTime, formatNanoTime])('reads back what %o writes', (format) => {
    expect(parseTime(format(at))).toBe(format === formatTime ? at - 123 : at);
  });
});
