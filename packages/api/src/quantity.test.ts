import { describe, expect, it } from 'vitest';
import { compareQuantities, formatMilli, isQuantity, milliValue, parseQuantity, quantityValue } from './quantity.js';

describe('milliValue (Quantity.MilliValue)', () => {
  it.each([
    ['0', 0n],
    ['1', 1000n],
    ['100m', 100n],
    ['250m', 250n],
    ['0.1', 100n],
    ['.5', 500n],
    ['5.', 5000n],
    ['1.5', 1500n],
    ['+2', 2000n],
    ['-2', -2000n],
    ['1k', 1_000_000n],
    ['1M', 1_000_000_000n],
    ['2G', 2n * 10n ** 12n],
    ['1T', 10n ** 15n],
    ['1P', 10n ** 18n],
    ['1E', 10n ** 21n],
    ['1Ki', 1_024_000n],
    ['64Mi', 64n * 2n ** 20n * 1000n],
    ['1.5Gi', 1_610_612_736_000n],
    ['1Ti', 2n ** 40n * 1000n],
    ['1Pi', 2n ** 50n * 1000n],
    ['1Ei', 2n ** 60n * 1000n],
    ['1e3', 1_000_000n],
    ['1E3', 1_000_000n],
    ['1e+3', 1_000_000n],
    ['1e-3', 1n],
    ['12e-1', 1200n],
    ['1000000n', 1n],
    ['1000u', 1n],
    // Rounded up, as Kubernetes does: the smallest unit is the milli.
    ['1n', 1n],
    ['1u', 1n],
    ['0.1m', 1n],
    ['1.5m', 2n],
    ['1500001n', 2n],
    ['-1.5m', -2n],
    // Beyond what a float holds exactly.
    ['123456789012345678901', 123456789012345678901000n],
    ['8Ei', 8n * 2n ** 60n * 1000n],
    [' 100m ', 100n],
    [2, 2000n],
    [0.5, 500n],
  ])('%j is %dm', (q, want) => {
    expect(milliValue(q)).toBe(want);
    expect(isQuantity(q)).toBe(true);
  });

  it.each([
    '',
    'm',
    '.',
    '-',
    '1.2.3',
    '1 Gi',
    '1K',
    '1KI',
    '1gi',
    '1e',
    '1Mi3',
    '1m3',
    '1x',
    'e3',
    '1e1.5',
    '1e99999',
    'abc',
    '1-',
    'Infinity',
    null,
    undefined,
    {},
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ])('refuses %j', (q) => {
    expect(milliValue(q)).toBeUndefined();
    expect(quantityValue(q)).toBeUndefined();
    expect(parseQuantity(q)).toBeUndefined();
    expect(isQuantity(q)).toBe(false);
  });
});

describe('quantityValue (Quantity.Value)', () => {
  it.each([
    ['1', 1n],
    ['100m', 1n],
    ['1001m', 2n],
    ['1.5Gi', 1_610_612_736n],
    ['0.1Gi', 107_374_183n],
    ['1e3', 1000n],
    ['64Mi', 67_108_864n],
    ['0', 0n],
  ])('%j is %d', (q, want) => expect(quantityValue(q)).toBe(want));
});

describe('exact arithmetic where floats go wrong', () => {
  it('0.1 + 0.2 CPU is 300m', () => {
    expect(0.1 + 0.2).not.toBe(0.3); // the float way
    expect(milliValue('0.1')! + milliValue('0.2')!).toBe(milliValue('300m'));
  });
  it('100m * 3 is 300m and 9m is 0.009', () => {
    expect(3n * milliValue('100m')!).toBe(milliValue('0.3'));
    expect(9 * 1e-3).not.toBe(0.009); // the float way
    expect(compareQuantities('9m', '0.009')).toBe(0);
  });
  it('1.5Gi is 1536Mi', () => expect(compareQuantities('1.5Gi', '1536Mi')).toBe(0));
  it.each([
    ['1', '999m', 1],
    ['999m', '1', -1],
    ['1Gi', '1G', 1],
    ['1k', '1Ki', -1],
    ['1e3', '1k', 0],
  ])('compare %s with %s: %d', (a, b, want) => expect(compareQuantities(a, b)).toBe(want));
  it('parseQuantity is the float approximation', () => {
    expect(parseQuantity('250m')).toBe(0.25);
    expect(parseQuantity('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(parseQuantity('1e3')).toBe(1000);
  });
});

describe('formatMilli (Quantity.String)', () => {
  it.each([
    [0n, 'DecimalSI', '0'],
    [250n, 'DecimalSI', '250m'],
    [1000n, 'DecimalSI', '1'],
    [1500n, 'DecimalSI', '1500m'],
    [2_000_000n, 'DecimalSI', '2k'],
    [1_500_000n, 'DecimalSI', '1500'],
    [1_500_000_000n, 'DecimalSI', '1500k'],
    [2n * 10n ** 9n, 'DecimalSI', '2M'],
    [10n ** 21n, 'DecimalSI', '1E'],
    [10n ** 24n, 'DecimalSI', '1000E'],
    [-250n, 'DecimalSI', '-250m'],
    [64n * 2n ** 20n * 1000n, 'BinarySI', '64Mi'],
    [1536n * 2n ** 20n * 1000n, 'BinarySI', '1536Mi'],
    [2n ** 30n * 1000n, 'BinarySI', '1Gi'],
    [1024_000n, 'BinarySI', '1Ki'],
    [1000_000n, 'BinarySI', '1k'],
    [512_000n, 'BinarySI', '512'],
    [1500n, 'BinarySI', '1500m'],
    [1_025_000n, 'BinarySI', '1025'],
  ] as const)('%dm as %s is %s', (m, format, want) => expect(formatMilli(m, format)).toBe(want));
  it.each(['250m', '1', '64Mi', '1536Mi', '2k', '1500m'])('round-trips %s', (q) => {
    expect(formatMilli(milliValue(q)!, q.endsWith('i') ? 'BinarySI' : 'DecimalSI')).toBe(q);
  });
});
