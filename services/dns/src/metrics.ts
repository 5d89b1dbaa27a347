/**
 * CoreDNS's own metric names, so dashboards and alerts written for CoreDNS
 * read ours: requests by type and transport, responses by rcode, and the
 * request duration histogram with CoreDNS's buckets (0.25 ms doubling to 8 s).
 */
import { newMetricsRegistry, prom, type MetricsRegistry } from '@kemu/client';
import type { Transport } from './responder.js';

/** The types CoreDNS reports by name; the rest count as "other". */
const MONITORED = new Set(['A', 'AAAA', 'NS', 'PTR', 'SOA', 'MX', 'TXT', 'SRV', 'CNAME', 'ANY', 'NAPTR', 'DS', 'DNSKEY', 'HTTPS', 'SVCB', 'IXFR', 'AXFR']);

export class DnsMetrics {
  readonly registry: MetricsRegistry;
  private requests: prom.Counter<'server' | 'zone' | 'view' | 'proto' | 'family' | 'type'>;
  private responses: prom.Counter<'server' | 'zone' | 'view' | 'rcode' | 'plugin'>;
  private duration: prom.Histogram<'server' | 'zone' | 'view' | 'type'>;

  constructor(
    private server: string,
    registry: MetricsRegistry = newMetricsRegistry(),
  ) {
    this.registry = registry;
    this.requests = new prom.Counter({
      name: 'coredns_dns_requests_total',
      help: 'Counter of DNS requests made per zone, protocol and family.',
      labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'],
      registers: [registry],
    });
    this.responses = new prom.Counter({
      name: 'coredns_dns_responses_total',
      help: 'Counter of response status codes.',
      labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'],
      registers: [registry],
    });
    this.duration = new prom.Histogram({
      name: 'coredns_dns_request_duration_seconds',
      help: 'Histogram of the time (in seconds) each request took per zone.',
      labelNames: ['server', 'zone', 'view', 'type'],
      buckets: prom.exponentialBuckets(0.00025, 2, 16),
      registers: [registry],
    });
  }

  /** One answered request: `zone` is the cluster zone or "." for forwarded names; `seconds` from receipt to reply. */
  observe(o: { zone: string; transport: Transport; family: 4 | 6; qtype: string; rcode: string; plugin: string; seconds: number }): void {
    const type = MONITORED.has(o.qtype) ? o.qtype : 'other';
    this.requests.inc({ server: this.server, zone: o.zone, view: '', proto: o.transport, family: o.family === 6 ? '2' : '1', type });
    this.responses.inc({ server: this.server, zone: o.zone, view: '', rcode: o.rcode, plugin: o.plugin });
    this.duration.observe({ server: this.server, zone: o.zone, view: '', type }, o.seconds);
  }
}
