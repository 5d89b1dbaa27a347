/**
 * The controller's metrics under ingress-nginx's names, so its dashboards
 * and alerts read ours: reloads that worked and failed, whether the last one
 * worked and when, and a hash of the running configuration.
 */
import { createHash } from 'node:crypto';
import { newMetricsRegistry, prom, registerWorkqueueMetrics, type MetricsRegistry } from '@kemu/client';

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
    const r = [registry];
    this.success = new prom.Counter({
      name: 'nginx_ingress_controller_success',
      help: 'Cumulative number of Ingress controller reload operations',
      registers: r,
    });
    this.errors = new prom.Counter({
      name: 'nginx_ingress_controller_errors',
      help: 'Cumulative number of Ingress controller errors during reload operations',
      registers: r,
    });
    this.lastOk = new prom.Gauge({
      name: 'nginx_ingress_controller_config_last_reload_successful',
      help: 'Whether the last configuration reload attempt was successful',
      registers: r,
    });
    this.lastOkTime = new prom.Gauge({
      name: 'nginx_ingress_controller_config_last_reload_successful_timestamp_seconds',
      help: 'Timestamp of the last successful configuration reload',
      registers: r,
    });
    this.hash = new prom.Gauge({ name: 'nginx_ingress_controller_config_hash', help: 'Running configuration hash actually running', registers: r });
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
