/**
 * Prometheus metrics through prom-client: a registry per process with the
 * process_* and nodejs_* metrics, the text exposition (and its escaping of
 * label values) done by the library, and client-go's workqueue_* metrics.
 *
 * Below them, the small hand-written registry this package had before, kept
 * (deprecated) only until the api-server's /metrics moves to `newMetricsRegistry`
 * and `exposition`.
 */
import * as prom from 'prom-client';
import { runningQueues, type WorkQueue } from './workqueue.js';

/** prom-client itself: `new prom.Counter({ name, help, labelNames, registers: [registry] })`. */
export { prom };
export type MetricsRegistry = prom.Registry;

/** A registry for one process; with prom-client's process_* and nodejs_* metrics unless told otherwise. */
export function newMetricsRegistry(o: { processMetrics?: boolean } = {}): MetricsRegistry {
  const registry = new prom.Registry();
  if (o.processMetrics !== false) prom.collectDefaultMetrics({ register: registry });
  return registry;
}

/** What GET /metrics answers: the Prometheus text format of every metric, and its Content-Type. */
export async function exposition(registry: MetricsRegistry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** client-go's workqueue metrics, one series per running queue (label `name`): a stuck worker shows as a growing longest_running_processor. */
export function registerWorkqueueMetrics(registry: MetricsRegistry): void {
  const gauge = (name: string, help: string, value: (q: WorkQueue) => number) =>
    new prom.Gauge({
      name,
      help,
      labelNames: ['name'],
      registers: [registry],
      collect() {
        this.reset(); // a queue that stopped running is no longer reported
        for (const q of runningQueues) this.set({ name: q.name }, value(q));
      },
    });
  const counter = (name: string, help: string, value: (q: WorkQueue) => number) =>
    new prom.Counter({
      name,
      help,
      labelNames: ['name'],
      registers: [registry],
      collect() {
        // The totals live in the queues; the counter shows them as they are now.
        this.reset();
        for (const q of runningQueues) this.inc({ name: q.name }, value(q));
      },
    });
  gauge('workqueue_depth', 'Current depth of workqueue', (q) => q.length);
  counter('workqueue_adds_total', 'Total number of adds handled by workqueue', (q) => q.adds);
  counter('workqueue_retries_total', 'Total number of retries handled by workqueue', (q) => q.retries);
  gauge('workqueue_unfinished_work_seconds', 'How many seconds of work has been done that is in progress', (q) => q.processingSeconds().total);
  gauge(
    'workqueue_longest_running_processor_seconds',
    'How many seconds has the longest running processor for workqueue been running',
    (q) => q.processingSeconds().longest,
  );
}

type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const key = (l: Labels) =>
  Object.entries(l)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(',');

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: string,
  ) {}
  abstract lines(): string[];
}

/** @deprecated use `prom` with `newMetricsRegistry`. */
export class Counter extends Metric {
  private values = new Map<string, number>();
  /** `collect`, when given, reads the current totals from where they are kept. */
  constructor(
    name: string,
    help: string,
    private collect?: () => [Labels, number][],
  ) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  lines(): string[] {
    if (this.collect) for (const [l, v] of this.collect()) this.values.set(key(l), v);
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

/** @deprecated use `prom` with `newMetricsRegistry`. */
export class Gauge extends Metric {
  private values = new Map<string, number>();
  constructor(
    name: string,
    help: string,
    private collect?: () => [Labels, number][],
  ) {
    super(name, help, 'gauge');
  }
  set(labels: Labels, v: number): void {
    this.values.set(key(labels), v);
  }
  add(labels: Labels, by: number): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  lines(): string[] {
    if (this.collect) for (const [l, v] of this.collect()) this.values.set(key(l), v);
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

/** @deprecated use `prom` with `newMetricsRegistry`. */
export class Histogram extends Metric {
  private series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: number[],
  ) {
    super(name, help, 'histogram');
  }
  observe(labels: Labels, v: number): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((b, i) => v <= b && s.counts[i]++);
    s.sum += v;
    s.count++;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

/** @deprecated use `prom` with `newMetricsRegistry`. */
export class Registry {
  private metrics: Metric[] = [];
  register<T extends Metric>(m: T): T {
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.map((m) => [`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines()].join('\n')).join('\n') + '\n';
  }
}
