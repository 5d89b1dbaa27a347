/**
 * CoreDNS's own metric names, so dashboards and alerts written for CoreDNS
 * read ours: requests by type and transport, responses by rcode, and the
 * request duration histogram with CoreDNS's buckets (0.25 ms doubling to 8 s).
 *
 * A query only adds to a tally of its own label values (a map lookup and a
 * few additions); prom-client sees the tallies when /metrics is read. Going
 * through prom-client for every query (validating and hashing three label
 * sets) cost more than answering the query did.
 */
import { newMetricsRegistry, prom, type MetricsRegistry } from '@kemu/client/rest';
import type { Transport } from './responder.js';

/** The types CoreDNS reports by name; the rest count as "other". */
const MONITORED = new Set(['A', 'AAAA', 'NS', 'PTR', 'SOA', 'MX', 'TXT', 'SRV', 'CNAME', 'ANY', 'NAPTR', 'DS', 'DNSKEY', 'HTTPS', 'SVCB', 'IXFR', 'AXFR']);
const BUCKETS = prom.exponentialBuckets(0.00025, 2, 16);

/** One request as the metrics see it: `zone` is the cluster zone or "." for forwarded names; `seconds` from receipt to reply. */
export interface Observation {
  zone: string;
  transport: Transport;
  family: 4 | 6;
  qtype: string;
  rcode: string;
  plugin: string;
  seconds: number;
}

/** Everything observed with one set of label values. */
interface Tally {
  zone: string;
  proto: Transport;
  family: '1' | '2';
  type: string;
  rcode: string;
  plugin: string;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: number[];
}

type DurationLabels = Record<'server' | 'zone' | 'view' | 'type', string>;
/** A value as prom-client's registry reads it from a metric's `get()`. */
interface Value {
  labels: DurationLabels | (DurationLabels & { le: number | string });
  value: number;
  metricName: string;
}

/**
 * The duration histogram, exposed from the tallies: prom-client's Histogram can
 * only be fed one observation at a time, so this is a metric of prom-client's
 * registry protocol (name, help, type, `get()` in the shape of
 * Registry.getMetricsAsJSON, `reset()`) whose values are read from the tallies.
 */
class TalliedHistogram {
  readonly name = 'coredns_dns_request_duration_seconds';
  readonly help = 'Histogram of the time (in seconds) each request took per zone.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    private server: string,
    private tallies: () => Iterable<Tally>,
    private clear: () => void,
  ) {}

  get(): Promise<{ name: string; help: string; type: string; values: Value[]; aggregator: string }> {
    // Tallies that differ only in labels this metric lacks (transport, rcode, plugin) add up.
    const series = new Map<string, { labels: DurationLabels; count: number; sum: number; buckets: number[] }>();
    for (const t of this.tallies()) {
      const key = `${t.zone}\0${t.type}`;
      let s = series.get(key);
      if (!s) series.set(key, (s = { labels: { server: this.server, zone: t.zone, view: '', type: t.type }, count: 0, sum: 0, buckets: BUCKETS.map(() => 0) }));
      s.count += t.count;
      s.sum += t.sum;
      for (let i = 0; i < BUCKETS.length; i++) s.buckets[i] += t.buckets[i];
    }
    const values: Value[] = [];
    for (const s of series.values()) {
      let acc = 0;
      BUCKETS.forEach((le, i) => {
        acc += s.buckets[i];
        values.push({ labels: { ...s.labels, le }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.clear();
  }
}

export class DnsMetrics {
  readonly registry: MetricsRegistry;
  private tallies = new Map<string, Tally>();

  constructor(server: string, registry: MetricsRegistry = newMetricsRegistry()) {
    this.registry = registry;
    const all = () => this.tallies.values();
    new prom.Counter({
      name: 'coredns_dns_requests_total',
      help: 'Counter of DNS requests made per zone, protocol and family.',
      labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'],
      registers: [registry],
      collect() {
        // The totals live in the tallies; the counter shows them as they are now.
        this.reset();
        for (const t of all()) this.inc({ server, zone: t.zone, view: '', proto: t.proto, family: t.family, type: t.type }, t.count);
      },
    });
    new prom.Counter({
      name: 'coredns_dns_responses_total',
      help: 'Counter of response status codes.',
      labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'],
      registers: [registry],
      collect() {
        this.reset();
        for (const t of all()) this.inc({ server, zone: t.zone, view: '', rcode: t.rcode, plugin: t.plugin }, t.count);
      },
    });
    // Not a prom.Metric by class, but by the protocol the registry uses (see TalliedHistogram).
    registry.registerMetric(new TalliedHistogram(server, all, () => this.tallies.clear()) as unknown as prom.Metric);
  }

  /** One answered request. */
  observe(o: Observation): void {
    // By the reported type, so that odd types sent on purpose add no series.
    const type = MONITORED.has(o.qtype) ? o.qtype : 'other';
    const key = `${o.zone}\0${o.transport}\0${o.family}\0${type}\0${o.rcode}\0${o.plugin}`;
    let t = this.tallies.get(key);
    if (!t) {
      const buckets = [...BUCKETS.map(() => 0), 0];
      t = { zone: o.zone, proto: o.transport, family: o.family === 6 ? '2' : '1', type, rcode: o.rcode, plugin: o.plugin, count: 0, sum: 0, buckets };
      this.tallies.set(key, t);
    }
    t.count++;
    t.sum += o.seconds;
    let i = 0;
    while (i < BUCKETS.length && o.seconds > BUCKETS[i]) i++;
    t.buckets[i]++;
  }
}
