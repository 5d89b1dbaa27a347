/**
 * What a program in a pod needs to talk to the api-server over REST as an
 * in-cluster client (the DNS server and the ingress controller): without the
 * gRPC client, whose grpc-js and protobufjs are half of such a program's
 * bundle and would be loaded for nothing each time its pod starts.
 */
export { RestClient, inClusterConfig, SERVICE_ACCOUNT_DIR, type RestClientOptions } from './rest-client.js';
export { Informer, InformerFactory, Lister, keyOf, splitKey, type Handlers, type IndexFunc, type InformerOptions, type ListWatcher } from './informer.js';
export { WorkQueue } from './workqueue.js';
export { LeaderElector, type LeaderElectionOptions } from './leader-election.js';
export { EventRecorder, type EventType, type EventSource } from './events.js';
export { prom, newMetricsRegistry, exposition, registerWorkqueueMetrics, type MetricsRegistry } from './metrics.js';
export { stopOnSignals } from './signals.js';
export type { ApiClient, ResourceId, ListResult } from './api-client.js';
