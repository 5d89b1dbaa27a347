/** @kemu/client — how the cluster's components talk to the api-server. */
export { ApiClient, fromGrpcError, type ApiClientOptions, type ResourceId, type ListResult } from './api-client.js';
export { Informer, InformerFactory, Lister, keyOf, splitKey, type Handlers, type IndexFunc, type InformerOptions, type ListWatcher } from './informer.js';
export { WorkQueue, ItemExponentialRateLimiter, BucketRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter, type RateLimiter } from './workqueue.js';
export { LeaderElector, type LeaderElectionOptions } from './leader-election.js';
export { RestClient, inClusterConfig, SERVICE_ACCOUNT_DIR, type RestClientOptions } from './rest-client.js';
export { EventRecorder, type EventType, type EventSource } from './events.js';
export { realClock, sleep, sleepOn, type Clock } from './clock.js';
export { findUp } from './find-up.js';
export { waitForListener, startWhenListening, splitHostPort, type ListenerWait } from './listener.js';
export { ExponentialBackoff, REFLECTOR_BACKOFF, type BackoffOptions } from './backoff.js';
export { prom, newMetricsRegistry, exposition, registerWorkqueueMetrics, type MetricsRegistry, Counter, Gauge, Histogram, Registry } from './metrics.js';
export {
  runComponent,
  componentFlags,
  leaderElectFlags,
  leaderElectOptions,
  type LeaderElectFlagValues,
  stopOnSignals,
  type ComponentFlagValues,
  type ComponentOptions,
  type RunningComponent,
  type FlagBuilder,
} from './component.js';
