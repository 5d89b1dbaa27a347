/**
 * kube-proxy's /healthz (port 10256): healthy once rules have been written and no
 * asked-for sync has waited longer than the timeout (2 × --sync-period), so a
 * proxy that stopped programming the node says so. Pure.
 */

export interface HealthInput {
  /** When the last successful sync finished (ms), undefined before the first. */
  lastUpdated: number | undefined;
  /** When the oldest sync request not yet served was made (ms). */
  pendingSince: number | undefined;
  now: number;
  timeoutMs: number;
}

export interface Health {
  healthy: boolean;
  /** The JSON body kube-proxy answers with. */
  body: { lastUpdated: string; currentTime: string; nodeEligible: boolean };
}

export function proxyHealth(h: HealthInput): Health {
  const stale = h.pendingSince !== undefined && h.now - h.pendingSince > h.timeoutMs;
  return {
    healthy: h.lastUpdated !== undefined && !stale,
    body: {
      lastUpdated: h.lastUpdated === undefined ? '' : new Date(h.lastUpdated).toISOString(),
      currentTime: new Date(h.now).toISOString(),
      nodeEligible: true,
    },
  };
}
