/** @kemu/dns — the cluster DNS: the Kubernetes DNS specification answered from informers, as CoreDNS. */
export { start, feed, upstreamsFor, type DnsOptions, type RunningDns } from './dns.js';
export { startServer, type ServerOptions, type RunningServer } from './server.js';
export { DnsIndex, compileIndexOptions, SERVICE_NAME_LABEL, type IndexOptions, type CompiledIndexOptions, type PodMode } from './core/dns-index.js';
export { answer, type Reply, type Question, type Rcode } from './core/answer.js';
export { serviceRecords, podRecords, dnsEndpoints, type NameData, type Srv } from './core/records.js';
export { keyName, reverseName, dashed, undashed, inZone } from './core/names.js';
export { Responder, encodeReply, errorReply, sizeLimit, truncate, MAX_UDP, type Outcome, type Transport } from './responder.js';
export { Forwarder, parseResolvConf, chooseUpstreams, boundAddresses, type Upstream, type SelfFacts } from './forward.js';
export { RestClient, inClusterConfig, SERVICE_ACCOUNT_DIR, type RestClientOptions } from '@kemu/client/rest';
export { parseCorefile, type CorefileSettings } from './corefile.js';
export { DnsMetrics } from './metrics.js';
