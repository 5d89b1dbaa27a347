/**
 * resource.Quantity: parse "100m", "1.5Gi", "2e3" into a number of base units
 * (cores, bytes), and format as Kubernetes does for the common cases.
 */

const RE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
export const QUANTITY_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value in base units, or undefined if `q` is not a quantity. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = q.trim().match(RE);
  if (!m) return undefined;
  const num = Number(m[1]);
  if (!Number.isFinite(num) || m[1].split('.').length > 2) return undefined;
  const suf = m[2];
  if (suf in SUFFIX) return num * SUFFIX[suf];
  const e = suf.match(/^[eE]([-+]?[0-9]+)$/);
  if (e) return num * 10 ** Number(e[1]);
  return undefined;
}

export const isQuantity = (q: unknown): boolean => parseQuantity(q) !== undefined;

/** Format a number of base units for display: CPU in millicores when fractional, memory in binary units when exact. */
export function formatQuantity(v: number, kind: 'cpu' | 'memory' | 'count' = 'count'): string {
  if (kind === 'cpu' && !Number.isInteger(v)) return `${Math.round(v * 1000)}m`;
  if (kind === 'memory') {
    for (const [s, f] of [['Ei', 2 ** 60], ['Pi', 2 ** 50], ['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
      if (v >= f && Number.isInteger(v / f)) return `${v / f}${s}`;
    }
  }
  return String(v);
}
