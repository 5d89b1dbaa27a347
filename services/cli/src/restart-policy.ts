/**
 * Compose's `restart:` policies as Docker's restart manager applies them, for
 * the keeper that supervises each service under `kemu up`: whether an exited
 * process is started again, and after how long. Pure.
 */

export type RestartPolicy = { kind: 'no' } | { kind: 'always' } | { kind: 'unless-stopped' } | { kind: 'on-failure'; maxRetries?: number };

/** Docker's restart manager: the first restart after 100 ms, each next one twice as late, at most a minute. */
export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
/** A process that ran this long starts the back-off over (Docker resets it after 10 s of running). */
export const RESET_AFTER_MS = 10_000;

/** A compose `restart:` value (absent: "no", compose's default). */
export function parseRestart(value: string | undefined): RestartPolicy {
  if (value === undefined || value === 'no') return { kind: 'no' };
  if (value === 'always' || value === 'unless-stopped') return { kind: value };
  const m = /^on-failure(?::(\d+))?$/.exec(value);
  if (m) return m[1] === undefined ? { kind: 'on-failure' } : { kind: 'on-failure', maxRetries: Number(m[1]) };
  throw new Error(`compose file: restart "${value}" is not one of no, always, unless-stopped, on-failure[:max-retries]`);
}

export function formatRestart(p: RestartPolicy): string {
  return p.kind === 'on-failure' && p.maxRetries !== undefined ? `on-failure:${p.maxRetries}` : p.kind;
}

/**
 * Whether a process that exited (code, or null when a signal ended it) is started again, after `restarts` restarts.
 * A stop asked for (kemu stop, a chaos stop) is never undone: the caller does not ask then.
 */
export function shouldRestart(p: RestartPolicy, code: number | null, restarts: number): boolean {
  switch (p.kind) {
    case 'no':
      return false;
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return code !== 0 && (p.maxRetries === undefined || restarts < p.maxRetries);
  }
}

/** The wait before the next restart, given the last one (0: none yet) and how long the process ran. */
export function nextDelay(lastDelayMs: number, ranMs: number): number {
  if (ranMs >= RESET_AFTER_MS || lastDelayMs <= 0) return FIRST_DELAY_MS;
  return Math.min(lastDelayMs * 2, MAX_DELAY_MS);
}
