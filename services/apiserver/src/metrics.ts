/**
 * The api-server's Prometheus metrics, through prom-client: requests by verb,
 * resource and code, their latency, open watches, and stored objects per
 * resource (read from the watch caches when scraped, so they cost nothing
 * between scrapes), and API Priority and Fairness' queues and rejections.
 * Names and labels as kube-apiserver's.
 */
import { exposition, newMetricsRegistry, prom, type MetricsRegistry } from '@kemu/client';
import type { FlowControlObserver } from './http/flowcontrol.js';

/** What the metrics read from the rest of the server: object counts per stored resource. */
export interface StorageCounts {
  storageCounts(): Iterable<[resource: string, count: number]>;
}

export interface ApiServerMetrics {
  readonly registry: MetricsRegistry;
  /** One finished request; WATCH requests are counted but their (open-ended) duration is not observed. */
  onRequest(verb: string, resource: string, code: number, seconds: number): void;
  /** A watch opened (+1) or closed (-1) over REST or gRPC. */
  onWatchCount(kind: 'rest' | 'grpc', delta: number): void;
  /** API Priority and Fairness' decisions, as kube-apiserver's apiserver_flowcontrol_* series. */
  readonly flowControl: FlowControlObserver;
  /** Each priority level's seats (apiserver_flowcontrol_nominal_limit_seats). */
  setNominalSeats(seats: Map<string, number>): void;
  /** The body and Content-Type GET /metrics answers. */
  expose(): Promise<{ contentType: string; body: string }>;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function apiServerMetrics(storage: StorageCounts, o: { processMetrics?: boolean } = {}): ApiServerMetrics {
  const registry = newMetricsRegistry(o);
  const requests = new prom.Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, resource and HTTP response code.',
    labelNames: ['verb', 'resource', 'code'],
    registers: [registry],
  });
  const latency = new prom.Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb and resource.',
    labelNames: ['verb', 'resource'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const watchers = new prom.Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Number of currently registered watchers.',
    labelNames: ['kind'],
    registers: [registry],
  });
  new prom.Gauge({
    name: 'apiserver_storage_objects',
    help: 'Number of stored objects per resource.',
    labelNames: ['resource'],
    registers: [registry],
    collect() {
      for (const [resource, count] of storage.storageCounts()) this.set({ resource }, count);
    },
  });
  const fcLabels = ['flow_schema', 'priority_level'];
  const rejected = new prom.Counter({
    name: 'apiserver_flowcontrol_rejected_requests_total',
    help: 'Number of requests rejected by API Priority and Fairness subsystem',
    labelNames: [...fcLabels, 'reason'],
    registers: [registry],
  });
  const dispatched = new prom.Counter({
    name: 'apiserver_flowcontrol_dispatched_requests_total',
    help: 'Number of requests executed by API Priority and Fairness subsystem',
    labelNames: fcLabels,
    registers: [registry],
  });
  const inQueue = new prom.Gauge({
    name: 'apiserver_flowcontrol_current_inqueue_requests',
    help: 'Number of requests currently pending in queues of the API Priority and Fairness subsystem',
    labelNames: fcLabels,
    registers: [registry],
  });
  const executing = new prom.Gauge({
    name: 'apiserver_flowcontrol_current_executing_requests',
    help: 'Number of requests in initial (for a WATCH) or any (for a non-WATCH) execution stage in the API Priority and Fairness subsystem',
    labelNames: fcLabels,
    registers: [registry],
  });
  const nominal = new prom.Gauge({
    name: 'apiserver_flowcontrol_nominal_limit_seats',
    help: 'Nominal number of execution seats configured for each priority level',
    labelNames: ['priority_level'],
    registers: [registry],
  });
  const fc = (c: Parameters<FlowControlObserver['dispatched']>[0]) => ({ flow_schema: c.flowSchema.name, priority_level: c.priorityLevel.name });
  return {
    registry,
    flowControl: {
      rejected: (c, reason) => rejected.inc({ ...fc(c), reason }),
      dispatched: (c) => dispatched.inc(fc(c)),
      inQueue: (c, d) => inQueue.inc(fc(c), d),
      executing: (c, d) => executing.inc(fc(c), d),
    },
    setNominalSeats(seats) {
      for (const [priority_level, n] of seats) nominal.set({ priority_level }, n);
    },
    onRequest(verb, resource, code, seconds) {
      requests.inc({ verb, resource, code: String(code) });
      if (verb !== 'WATCH') latency.observe({ verb, resource }, seconds);
    },
    onWatchCount(kind, delta) {
      watchers.inc({ kind }, delta);
    },
    expose: () => exposition(registry),
  };
}
