/**
 * resource.Quantity, exact. "100m", "1.5Gi", "2e3" are parsed into a
 * fraction of bigints and read out as Kubernetes reads them: MilliValue()
 * and Value(), rounded up. Sums and comparisons (quota, LimitRange,
 * requests <= limits, the scheduler's fit) are done on those integers, never
 * on floats: 0.1 + 0.2 CPU is 300m, not 300.00000000000006m.
 */

export const QUANTITY_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** sign, integer digits, fraction digits, suffix (Kubernetes' parseQuantityString). */
const RE = /^([+-]?)([0-9]*)(?:\.([0-9]*))?([a-zA-Z]*)([-+]?[0-9]*)$/;

/** The decimal suffixes, largest first, with the power of ten each stands for (k = 10^3, m = 10^-3). */
const DECIMAL_EXPONENTS: [string, number][] = ['E', 'P', 'T', 'G', 'M', 'k', '', 'm', 'u', 'n'].map((s, i) => [s, 18 - 3 * i]);

/** The binary suffixes, largest first, with their multipliers (Ki = 2^10 ... Ei = 2^60). */
const BINARY: [string, bigint][] = ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'].map((s, i) => [s, 2n ** BigInt(60 - 10 * i)]);

/** Multipliers as [numerator, denominator]. */
const SUFFIX: Record<string, [bigint, bigint]> = Object.fromEntries([
  ...DECIMAL_EXPONENTS.map(([s, e]): [string, [bigint, bigint]] => [s, e >= 0 ? [10n ** BigInt(e), 1n] : [1n, 10n ** BigInt(-e)]]),
  ...BINARY.map(([s, f]): [string, [bigint, bigint]] => [s, [f, 1n]]),
]);

/**
 * Decimal exponents beyond this are refused: "1e999999999" would otherwise
 * make a billion-digit bigint. No real quantity comes near it (1Ei is 1e18).
 */
const MAX_EXPONENT = 1000;

/** An exact quantity: num / den, den > 0. */
interface Fraction {
  num: bigint;
  den: bigint;
}

function parseFraction(q: unknown): Fraction | undefined {
  let text: string;
  if (typeof q === 'number') {
    if (!Number.isFinite(q)) return undefined;
    text = String(q); // a YAML `cpu: 2` arrives as a JSON number; Kubernetes reads its text
  } else if (typeof q === 'string') {
    text = q.trim(); // as Quantity.UnmarshalJSON does
  } else return undefined;
  const m = RE.exec(text);
  if (!m) return undefined;
  const [, sign, whole, frac = '', letters, exp] = m;
  if (!whole && !frac) return undefined;
  let num = BigInt(`${whole || '0'}${frac}`);
  let den = 10n ** BigInt(frac.length);
  if (exp) {
    // Only e/E take a number after them; "1Mi3" and "1e" are not quantities. "1E" alone is an exa.
    if ((letters !== 'e' && letters !== 'E') || !/^[-+]?[0-9]+$/.test(exp)) return undefined;
    const e = Number(exp);
    if (Math.abs(e) > MAX_EXPONENT) return undefined;
    if (e >= 0) num *= 10n ** BigInt(e);
    else den *= 10n ** BigInt(-e);
  } else {
    const mult = SUFFIX[letters];
    if (!mult) return undefined;
    num *= mult[0];
    den *= mult[1];
  }
  return { num: sign === '-' ? -num : num, den };
}

/** num / den rounded away from zero (inf.RoundUp, what Quantity.ScaledValue does). */
function divUp(num: bigint, den: bigint): bigint {
  const q = num / den;
  if (num % den === 0n) return q;
  return num < 0n ? q - 1n : q + 1n;
}

/** Quantity.MilliValue(): the value in thousandths, rounded up ("0.1m" → 1n, "1.5" → 1500n). Undefined if `q` is not a quantity. */
export function milliValue(q: unknown): bigint | undefined {
  const f = parseFraction(q);
  return f && divUp(f.num * 1000n, f.den);
}

/** Quantity.Value(): the value in whole units, rounded up ("100m" → 1n, "1.5Gi" → 1610612736n). */
export function quantityValue(q: unknown): bigint | undefined {
  const f = parseFraction(q);
  return f && divUp(f.num, f.den);
}

export const isQuantity = (q: unknown): boolean => parseFraction(q) !== undefined;

/**
 * The value as a float, for what only needs an approximation (a memory limit
 * handed to the OS, a display). Never add or compare these: use milliValue.
 */
export function parseQuantity(q: unknown): number | undefined {
  const f = parseFraction(q);
  return f && Number(f.num) / Number(f.den);
}

/** Exact comparison of two quantities' milli-values: -1, 0 or 1 (a value that is not a quantity counts as 0). */
export function compareQuantities(a: unknown, b: unknown): -1 | 0 | 1 {
  const x = milliValue(a) ?? 0n;
  const y = milliValue(b) ?? 0n;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The decimal suffixes from E down to none, as multipliers of a milli-value ('' is 1000 milli). */
const DECIMAL: [string, bigint][] = DECIMAL_EXPONENTS.filter(([, e]) => e >= 0).map(([s, e]) => [s, 10n ** BigInt(e + 3)]);

/**
 * A milli-value as Quantity.String() writes it. DecimalSI: the largest
 * suffix that leaves a whole number (1500m, 2, 1k, 1500k, 2M). BinarySI:
 * the largest of Ki..Ei that divides the value (64Mi, 1536Mi); a fraction or
 * a value under 1024 falls back to DecimalSI, as Kubernetes does.
 */
export function formatMilli(milli: bigint, format: 'DecimalSI' | 'BinarySI' = 'DecimalSI'): string {
  if (milli === 0n) return '0';
  if (format === 'BinarySI' && milli % 1000n === 0n) {
    const v = milli / 1000n;
    if (v >= 1024n || v <= -1024n) {
      for (const [suffix, f] of BINARY) if (v % f === 0n) return `${v / f}${suffix}`;
      return String(v);
    }
  }
  for (const [suffix, f] of DECIMAL) if (milli % f === 0n) return `${milli / f}${suffix}`;
  return `${milli}m`;
}
