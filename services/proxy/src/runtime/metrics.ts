/** kube-proxy's own metrics (pkg/proxy/metrics), on the process's prom-client registry. */
import { prom, type MetricsRegistry } from '@kemu/client';

const exponential = (start: number, factor: number, count: number): number[] => Array.from({ length: count }, (_, i) => start * factor ** i);
const linear = (start: number, width: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + width * i);

/** Metric constructors bound to one registry: the name, the help text, and what differs. */
function metricsOn(registry: MetricsRegistry) {
  const registers = [registry];
  return {
    histogram: (name: string, help: string, buckets: number[]): prom.Histogram => new prom.Histogram({ name, help, buckets, registers }),
    gauge: <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): prom.Gauge<L> =>
      new prom.Gauge<L>({ name, help, labelNames, registers }),
    counter: <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): prom.Counter<L> =>
      new prom.Counter<L>({ name, help, labelNames, registers }),
  };
}

export class ProxyMetrics {
  readonly syncDuration: prom.Histogram;
  readonly fullSyncDuration: prom.Histogram;
  readonly partialSyncDuration: prom.Histogram;
  readonly programmingDuration: prom.Histogram;
  readonly lastSync: prom.Gauge;
  readonly iptablesTotal: prom.Gauge<'table'>;
  readonly restoreFailures: prom.Counter;
  readonly endpointChanges: prom.Counter;
  readonly serviceChanges: prom.Counter;

  constructor(registry: MetricsRegistry) {
    const { histogram, gauge, counter } = metricsOn(registry);
    const syncBuckets = exponential(0.001, 2, 15);
    this.syncDuration = histogram('kubeproxy_sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds', syncBuckets);
    this.fullSyncDuration = histogram('kubeproxy_sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs', syncBuckets);
    this.partialSyncDuration = histogram(
      'kubeproxy_sync_partial_proxy_rules_duration_seconds',
      'SyncProxyRules latency in seconds for partial resyncs',
      syncBuckets,
    );
    this.programmingDuration = histogram('kubeproxy_network_programming_duration_seconds', 'In Network Programming Latency in seconds', [
      ...linear(0.25, 0.25, 2),
      ...linear(1, 1, 59),
      ...linear(60, 5, 12),
      ...linear(120, 30, 7),
    ]);
    this.lastSync = gauge('kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced');
    this.iptablesTotal = gauge('kubeproxy_sync_proxy_rules_iptables_total', 'Total number of iptables rules owned by kube-proxy', ['table']);
    this.restoreFailures = counter('kubeproxy_sync_proxy_rules_iptables_restore_failures_total', 'Cumulative proxy iptables restore failures');
    this.endpointChanges = counter('kubeproxy_sync_proxy_rules_endpoint_changes_total', 'Cumulative proxy rules Endpoint changes');
    this.serviceChanges = counter('kubeproxy_sync_proxy_rules_service_changes_total', 'Cumulative proxy rules Service changes');
  }
}

/**
 * kemu's own: which data path carries the traffic (an info-style gauge, 1 for the
 * one in use), and what the userspace data path does. The counters are bumped
 * per connection, never per chunk.
 */
export class DataPathMetrics {
  readonly info: prom.Gauge<'mode' | 'data_path' | 'scheduler'>;
  readonly connections: prom.Counter<'protocol'>;
  readonly dialFailures: prom.Counter;
  readonly noBackend: prom.Counter;

  constructor(registry: MetricsRegistry) {
    const { gauge, counter } = metricsOn(registry);
    this.info = gauge(
      'kemu_proxy_data_path_info',
      'The data path serving Services: 1 for the one in use (mode is --proxy-mode; data_path what carries the traffic)',
      ['mode', 'data_path', 'scheduler'],
    );
    this.connections = counter('kemu_proxy_userspace_connections_total', 'Connections (TCP) and client sessions (UDP) the userspace data path accepted', [
      'protocol',
    ]);
    this.dialFailures = counter('kemu_proxy_userspace_dial_failures_total', 'Backend dials that failed and moved to another endpoint');
    this.noBackend = counter('kemu_proxy_userspace_no_backend_total', 'Connections refused because the Service port had no endpoint left');
  }

  /** The counters the data path calls. */
  counters(): { connectionAccepted(p: 'TCP' | 'UDP'): void; dialFailed(): void; noBackend(): void } {
    return {
      connectionAccepted: (p) => this.connections.inc({ protocol: p }),
      dialFailed: () => this.dialFailures.inc(),
      noBackend: () => this.noBackend.inc(),
    };
  }
}

/** The annotation the EndpointSlice controller sets to the time of the change that caused the slice's write. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/**
 * The changes not yet in the kernel, each with the time it began: the trigger-time
 * annotation when the slice has one, else when this proxy saw it. A sync takes the
 * ones it covers when it starts and observes their age once its rules are in.
 */
export class ProgrammingLatency {
  private pending: number[] = [];

  record(annotations: Readonly<Record<string, string>> | undefined, seenAt: number): void {
    const raw = annotations?.[TRIGGER_TIME_ANNOTATION];
    const t = raw === undefined ? Number.NaN : Date.parse(raw);
    this.pending.push(Number.isFinite(t) ? t : seenAt);
  }

  /** The changes a sync starting now covers. */
  take(): number[] {
    return this.pending.splice(0);
  }

  /** A failed sync's changes wait for the next one. */
  putBack(times: number[]): void {
    this.pending.unshift(...times);
  }
}
