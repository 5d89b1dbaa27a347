/**
 * Timestamps as Kubernetes writes them. One place, so that every process
 * writes `creationTimestamp`, condition times, lease times and log lines the
 * same way:
 *
 * - metav1.Time: RFC 3339 to the second, UTC (`2024-01-02T03:04:05Z`);
 *   Kubernetes drops the fraction when it serialises, so we never write one.
 * - metav1.MicroTime: six fractional digits (`2024-01-02T03:04:05.123000Z`),
 *   used by Lease renew/acquire times and events.k8s.io eventTime.
 * - CRI log lines: nine fractional digits (`2024-01-02T03:04:05.123000000Z`),
 *   fixed width so a log's lines sort as text.
 *
 * JavaScript clocks have millisecond resolution: the extra digits are zeros.
 */

type When = Date | number;

const iso = (when: When): string => (typeof when === 'number' ? new Date(when) : when).toISOString();

/** metav1.Time: `2024-01-02T03:04:05Z` (the milliseconds are dropped, not rounded, as Go's Time.Truncate(time.Second) does). */
export function formatTime(when: When = new Date()): string {
  return iso(when).replace(/\.\d+Z$/, 'Z');
}

/** metav1.MicroTime: `2024-01-02T03:04:05.123000Z`. */
export function formatMicroTime(when: When = new Date()): string {
  return iso(when).replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** RFC 3339 with nanoseconds, fixed width, as CRI log lines carry: `2024-01-02T03:04:05.123000000Z`. */
export function formatNanoTime(when: When = new Date()): string {
  return iso(when).replace(/\.(\d{3})Z$/, '.$1000000Z');
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Milliseconds since the epoch of an RFC 3339 time (any of the three forms
 * above, or with an offset), or undefined when `text` is not one: a date that
 * does not exist (February 30th) is refused, as Go's time.Parse refuses it.
 * Digits beyond the millisecond are dropped.
 */
export function parseTime(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(utc);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  if (m[8]) return utc;
  const offset = (Number(m[10]) * 60 + Number(m[11])) * 60_000;
  if (Number(m[10]) > 23 || Number(m[11]) > 59) return undefined;
  return m[9] === '+' ? utc - offset : utc + offset;
}
