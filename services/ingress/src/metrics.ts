/**
 * The controller's metrics under ingress-nginx's names, so its dashboards
 * and alerts read ours: reloads that worked and failed, whether the last one
 * worked and when, and a hash of the running configuration.
 */
import { createHash } from 'node:crypto';
import { newMetricsRegistry, prom, registerWorkqueueMetrics, type MetricsRegistry } from '@kemu/client/rest';

export class IngressMetrics {
  readonly registry: MetricsRegistry;
  private success: prom.Counter;
  private errors: prom.Counter;
  private lastOk: prom.Gauge;
  private lastOkTime: prom.Gauge;
  private hash: prom.Gauge;

  constructor(registry: MetricsRegistry = newMetricsRegistry()) {
    this.registry = registry;
    registerWorkqueueMetrics(registry);
    const counter = (name: string, help: string) => new prom.Counter({ name: `nginx_ingress_controller_${name}`, help, registers: [registry] });
    const gauge = (name: string, help: string) => new prom.Gauge({ name: `nginx_ingress_controller_${name}`, help, registers: [registry] });
    this.success = counter('success', 'Cumulative number of Ingress controller reload operations');
    this.errors = counter('errors', 'Cumulative number of Ingress controller errors during reload operations');
    this.lastOk = gauge('config_last_reload_successful', 'Whether the last configuration reload attempt was successful');
    this.lastOkTime = gauge('config_last_reload_successful_timestamp_seconds', 'Timestamp of the last successful configuration reload');
    this.hash = gauge('config_hash', 'Running configuration hash actually running');
  }

  /** One reload attempt: a configuration nginx took (with its text), or one its test refused. */
  reloaded(ok: boolean, config?: string): void {
    (ok ? this.success : this.errors).inc();
    this.lastOk.set(ok ? 1 : 0);
    if (!ok || config === undefined) return;
    this.lastOkTime.set(Date.now() / 1000);
    // A float64 holds 52 bits exactly: the first 12 hex digits of the text's sha256.
    this.hash.set(parseInt(createHash('sha256').update(config).digest('hex').slice(0, 12), 16));
  }
}
