/**
 * The api-server's Prometheus metrics, through prom-client: requests by verb,
 * resource and code, their latency, open watches, and stored objects per
 * resource (read from the watch caches when scraped, so they cost nothing
 * between scrapes). Names and labels as kube-apiserver's.
 */
import { exposition, newMetricsRegistry, prom, type MetricsRegistry } from '@kemu/client';

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
  return {
    registry,
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
