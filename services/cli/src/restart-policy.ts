/**
 * Compose's `restart:` policies, read and written back in one form for the
 * keeper that applies them under `kemu up` (bin/keeper.sh, which restarts as
 * Docker's restart manager does). Pure.
 */

export type RestartPolicy = { kind: 'no' } | { kind: 'always' } | { kind: 'unless-stopped' } | { kind: 'on-failure'; maxRetries?: number };

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
