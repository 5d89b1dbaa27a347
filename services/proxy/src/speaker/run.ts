/**
 * The node's side of LoadBalancer Services, run inside the kube-proxy process beside
 * the proxier: the layer-2 speaker (which addresses this node answers ARP for) and the
 * health check NodePorts of externalTrafficPolicy Local Services. Its own watches on
 * Services, EndpointSlices and every Node (the election needs them all, the proxier
 * only its own), and one sync at a time through the proxier's SyncRunner.
 */
import { readFileSync } from 'node:fs';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Logger } from 'pino';
import { ApiClient, EventRecorder, InformerFactory, type MetricsRegistry } from '@kemu/client';
import { ServiceHealthServer, serviceHealthChecks } from '../healthcheck/service-health.js';
import { buildModel } from '../model/from-k8s.js';
import { spawnExec, type Exec } from '../runtime/exec.js';
import { SyncRunner } from '../runtime/sync-runner.js';
import { InterfaceAddresses } from './addresses.js';
import { electAddresses } from './announce.js';
import { Speaker } from './speaker.js';

export interface SpeakerProcessOptions {
  apiserver: string;
  caFile: string;
  tokenFile: string;
  nodeName: string;
  /** The node's address; default: its Node's InternalIP. */
  nodeIP?: string;
  /** The proxy's /metrics registry (the speaker's gauge goes there). */
  registry?: MetricsRegistry;
  /** Whether the proxy itself is healthy (health check NodePorts answer 503 when not, as kube-proxy's). */
  proxyHealthy: () => boolean;
  exec?: Exec;
  /** Resync (re-read the kernel) at least this often. Default 30 s. */
  resyncMs?: number;
}

const R = {
  services: { version: 'v1', resource: 'services' },
  slices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' },
  nodes: { version: 'v1', resource: 'nodes' },
};

export function startSpeaker(o: SpeakerProcessOptions, log: Logger): { stop(): Promise<void> } {
  const client = new ApiClient({ address: o.apiserver, ca: readFileSync(o.caFile), token: readFileSync(o.tokenFile, 'utf8').trim() });
  const informers = new InformerFactory(client, (err) => log.warn({ err }, 'informer error'));
  const services = informers.for(R.services);
  const slices = informers.for(R.slices);
  const nodes = informers.for(R.nodes);
  const internalIP = (): string | undefined =>
    (nodes.lister.get(o.nodeName) as Node | undefined)?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const speaker = new Speaker(
    {
      nodeName: o.nodeName,
      nodeIP: () => o.nodeIP ?? internalIP(),
      addresses: new InterfaceAddresses(o.exec ?? spawnExec),
      recorder: new EventRecorder(client, { component: 'speaker', host: o.nodeName }),
      ...(o.registry ? { registry: o.registry } : {}),
    },
    log,
  );
  const health = new ServiceHealthServer(log, o.proxyHealthy);
  const resyncMs = o.resyncMs ?? 30_000;

  const sync = async (reason: string): Promise<void> => {
    const svcs = services.lister.list() as Service[];
    const sl = slices.lister.list() as EndpointSlice[];
    try {
      await health.sync(serviceHealthChecks(buildModel(svcs, sl), o.nodeName));
      const elections = electAddresses(svcs, sl, nodes.lister.list() as Node[]);
      await speaker.reconcile(elections, reason !== 'change', (key) => services.lister.get(key));
    } catch (err) {
      log.error({ err }, 'speaker sync failed');
      runner.retryAfter(1000);
    }
  };
  // Failover waits on this: a short minimum interval, the changes being few and a sync cheap.
  const runner = new SyncRunner(sync, { minIntervalMs: 100, maxIntervalMs: resyncMs });
  const changed = { add: () => runner.run(), update: () => runner.run(), delete: () => runner.run() };
  for (const inf of [services, slices, nodes]) inf.on(changed);
  // Acting on a partial cache would withdraw addresses of Services not listed yet.
  void informers.start().then(() => runner.start());

  return {
    async stop() {
      informers.stop();
      await runner.stop();
      health.stop();
      await speaker.withdrawAll().catch((err: unknown) => log.error({ err }, 'withdrawing LoadBalancer addresses failed'));
      client.close();
    },
  };
}
