/**
 * Timing profiles: the flags that decide how fast the cluster notices a node or
 * a leader is gone. `stock` is Kubernetes' defaults; `fast` (kemu's default)
 * keeps their ratios but in seconds, so a failover can be watched rather than
 * waited for. Each value reaches its component as the flag of Kubernetes' name,
 * through a variable of the compose file (whose defaults are the fast profile).
 * Pure.
 */

export const PROFILES = ['fast', 'stock'] as const;
export type Profile = (typeof PROFILES)[number];

export function isProfile(s: string): s is Profile {
  return (PROFILES as readonly string[]).includes(s);
}

/** One profile: per component flag, its value (as the flag takes it). */
export interface TimingProfile {
  /** kubelet --node-lease-duration-seconds (renewed every quarter of it). */
  nodeLeaseDurationSeconds: number;
  /** kubelet --node-status-update-frequency. */
  nodeStatusUpdateFrequency: string;
  /** kube-controller-manager --node-monitor-period. */
  nodeMonitorPeriod: string;
  /** kube-controller-manager --node-monitor-grace-period. */
  nodeMonitorGracePeriod: string;
  /** kube-apiserver --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds. */
  defaultTolerationSeconds: number;
  /** kube-scheduler and kube-controller-manager --leader-elect-lease-duration, -renew-deadline, -retry-period. */
  leaderElectLeaseDuration: string;
  leaderElectRenewDeadline: string;
  leaderElectRetryPeriod: string;
  /** kube-proxy --min-sync-period: the least time between two syncs, which batches changes arriving close together. */
  proxyMinSyncPeriod: string;
}

export const TIMING_PROFILES: Record<Profile, TimingProfile> = {
  stock: {
    nodeLeaseDurationSeconds: 40,
    nodeStatusUpdateFrequency: '10s',
    nodeMonitorPeriod: '5s',
    nodeMonitorGracePeriod: '40s',
    defaultTolerationSeconds: 300,
    leaderElectLeaseDuration: '15s',
    leaderElectRenewDeadline: '10s',
    leaderElectRetryPeriod: '2s',
    proxyMinSyncPeriod: '1s',
  },
  // Lease renewed every second; three missed renewals and the node is NotReady, checked every second; its pods
  // leave after 2 s more. A standby leader takes over within 4 s of the last renewal it saw (a leader must renew
  // within 3 s: less, and a busy machine makes leaders give up for nothing).
  fast: {
    nodeLeaseDurationSeconds: 4,
    nodeStatusUpdateFrequency: '2s',
    nodeMonitorPeriod: '1s',
    nodeMonitorGracePeriod: '3s',
    defaultTolerationSeconds: 2,
    leaderElectLeaseDuration: '4s',
    leaderElectRenewDeadline: '3s',
    leaderElectRetryPeriod: '500ms',
    // A change waits at most this long for the sync that writes it, so a new endpoint is in every node's rules
    // within a second even at a steady stream of changes (the benchmark's p99 with 1 s was just over a second).
    proxyMinSyncPeriod: '500ms',
  },
};

/** The compose file's variables for a profile (what `kemu up` sets, and compose/profiles/NAME.env holds). */
export function profileEnv(p: Profile): Record<string, string> {
  const t = TIMING_PROFILES[p];
  return {
    KEMU_PROFILE: p,
    KEMU_NODE_LEASE_DURATION_SECONDS: String(t.nodeLeaseDurationSeconds),
    KEMU_NODE_STATUS_UPDATE_FREQUENCY: t.nodeStatusUpdateFrequency,
    KEMU_NODE_MONITOR_PERIOD: t.nodeMonitorPeriod,
    KEMU_NODE_MONITOR_GRACE_PERIOD: t.nodeMonitorGracePeriod,
    KEMU_DEFAULT_NOT_READY_TOLERATION_SECONDS: String(t.defaultTolerationSeconds),
    KEMU_DEFAULT_UNREACHABLE_TOLERATION_SECONDS: String(t.defaultTolerationSeconds),
    KEMU_LEADER_ELECT_LEASE_DURATION: t.leaderElectLeaseDuration,
    KEMU_LEADER_ELECT_RENEW_DEADLINE: t.leaderElectRenewDeadline,
    KEMU_LEADER_ELECT_RETRY_PERIOD: t.leaderElectRetryPeriod,
    KEMU_PROXY_MIN_SYNC_PERIOD: t.proxyMinSyncPeriod,
  };
}

/** A profile's variables as an env file (`docker compose --env-file`). */
export function envFile(p: Profile): string {
  const lines = Object.entries(profileEnv(p)).map(([k, v]) => `${k}=${v}`);
  return [`# The ${p} timing profile (generated from services/cli/src/profiles.ts; see the README).`, ...lines, ''].join('\n');
}
