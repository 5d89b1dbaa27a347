/**
 * The cluster DNS process: informers on Services, EndpointSlices, Pods and
 * Namespaces feed the index; the server answers from it and forwards the rest
 * to the upstreams of a resolv.conf. The informers read from the api-server's
 * gRPC port with a component token (`apiserver`, `caFile`, `tokenFile`), or —
 * in a pod — over REST with the pod's service account.
 */
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { Namespace, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { InformerFactory, RestClient, inClusterConfig, type Informer, type ListWatcher, type RestClientOptions } from '@kemu/client/rest';
import type { KubeObject } from '@kemu/api';
import { DnsIndex, type IndexOptions } from './core/dns-index.js';
import { Forwarder, boundAddresses, chooseUpstreams, parseResolvConf, type Upstream } from './forward.js';
import { startServer, type RunningServer, type ServerOptions } from './server.js';

export interface DnsOptions extends IndexOptions, Omit<ServerOptions, 'synced' | 'forwarder' | 'log'> {
  /** host:port of the api-server's gRPC listener (with caFile and tokenFile). Without it: in-cluster REST. */
  apiserver?: string;
  caFile?: string;
  tokenFile?: string;
  /** REST list/watch with this server, CA and token file; default (without apiserver) the pod's in-cluster configuration. */
  rest?: RestClientOptions;
  /** Where the upstream resolvers are listed. Default /etc/resolv.conf; '' forwards nowhere. */
  resolvConf?: string;
  /** Upstreams (`ip` or `ip:port`) instead of resolv.conf's. */
  upstreams?: string[];
  /** How long each upstream gets. Default 2000 ms. */
  forwardTimeoutMs?: number;
  /** Addresses that are this DNS service, never forwarded to. Default 10.96.0.10. */
  dnsServiceIPs?: string[];
}

export interface RunningDns extends RunningServer {
  index: DnsIndex;
  upstreams: Upstream[];
  /** Resolves once every informer has listed. */
  synced: Promise<void>;
}

type Kind = 'Service' | 'EndpointSlice' | 'Pod' | 'Namespace';

/** Connect the informers' events to the index: each kind's upsert and delete. */
export function feed(index: DnsIndex, informers: Record<Kind, Informer>): void {
  const apply: Record<Kind, [upsert: (o: KubeObject) => void, remove: (o: KubeObject) => void]> = {
    Service: [(o) => index.upsertService(o as Service), (o) => index.deleteService(o as Service)],
    EndpointSlice: [(o) => index.upsertSlice(o as EndpointSlice), (o) => index.deleteSlice(o as EndpointSlice)],
    Pod: [(o) => index.upsertPod(o as Pod), (o) => index.deletePod(o as Pod)],
    Namespace: [(o) => index.upsertNamespace(o as Namespace), (o) => index.deleteNamespace(o as Namespace)],
  };
  for (const [kind, [upsert, remove]] of Object.entries(apply) as [Kind, (typeof apply)[Kind]][]) {
    informers[kind].on({ add: upsert, update: (_old, o) => upsert(o), delete: remove });
  }
}

function parseUpstream(s: string): Upstream {
  const m = s.match(/^\[(.+)\]:(\d+)$/) ?? s.match(/^([^:]+):(\d+)$/);
  return m ? { host: m[1], port: Number(m[2]) } : { host: s, port: 53 };
}

export function upstreamsFor(o: DnsOptions, port: number): Upstream[] {
  if (o.upstreams?.length) return o.upstreams.map(parseUpstream);
  const file = o.resolvConf ?? '/etc/resolv.conf';
  if (!file) return [];
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return chooseUpstreams(parseResolvConf(text), { port, addresses: boundAddresses(o.address ?? '0.0.0.0'), skip: o.dnsServiceIPs ?? ['10.96.0.10'] });
}

export async function start(o: DnsOptions, log: Logger = pino({ name: 'dns' })): Promise<RunningDns> {
  let client: ListWatcher & { close(): void };
  if (o.apiserver) {
    if (!o.caFile || !o.tokenFile) throw new Error('--apiserver needs --ca-file and --token-file');
    // Loaded only here, at run time (a name the bundler does not follow): the pod's own way is REST, and the gRPC
    // client would be half of what its bundle loads each time a DNS pod starts. It brings a second copy of
    // @kemu/api's classes: the informer reads a watch's 410 from its ERROR event, but would not know this copy's
    // StatusError by instanceof (isGone) were a call to throw one; it then retries after its back-off.
    const grpcClient: string = '@kemu/client';
    const { ApiClient } = (await import(grpcClient)) as typeof import('@kemu/client');
    client = new ApiClient({ address: o.apiserver, ca: readFileSync(o.caFile), token: readFileSync(o.tokenFile, 'utf8').trim() });
  } else {
    const config = o.rest ?? inClusterConfig();
    if (!config) throw new Error('no --apiserver given and not in a pod (KUBERNETES_SERVICE_HOST/PORT unset)');
    client = new RestClient(config);
    log.info({ server: config.server }, 'in-cluster configuration');
  }
  const index = new DnsIndex(o);
  const factory = new InformerFactory(client, (err) => log.warn({ err: String(err) }, 'informer error'));
  const informers: Record<Kind, Informer> = {
    Service: factory.for({ version: 'v1', resource: 'services' }),
    EndpointSlice: factory.for({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' }),
    Pod: factory.for({ version: 'v1', resource: 'pods' }),
    Namespace: factory.for({ version: 'v1', resource: 'namespaces' }),
  };
  feed(index, informers);
  let isSynced = false;
  const port = o.port ?? 53;
  const upstreams = upstreamsFor(o, port);
  const server = await startServer(index, { ...o, synced: () => isSynced, forwarder: new Forwarder(upstreams, o.forwardTimeoutMs), log });
  log.info(
    {
      port: server.port,
      healthPort: server.healthPort,
      readyPort: server.readyPort,
      metricsPort: server.metricsPort,
      upstreams: upstreams.map((u) => `${u.host}:${u.port}`),
      zone: index.options.zone,
    },
    'dns serving',
  );
  const synced = factory.start().then(() => {
    isSynced = true;
    log.info({ names: index.generation }, 'informers synced');
  });
  return {
    ...server,
    index,
    upstreams,
    synced,
    async stop() {
      factory.stop();
      await server.stop();
      client.close();
    },
  };
}
