/**
 * The ingress controller process: informers on Ingresses, IngressClasses,
 * Services, EndpointSlices and Secrets (over REST with the pod's service
 * account, through the `kubernetes` Service), the controller loop driving
 * Debian's nginx, and /healthz and /metrics on 10254. nginx starts with the
 * first configuration made from synced caches.
 */
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { EventRecorder, InformerFactory, RestClient, inClusterConfig, type RestClientOptions } from '@kemu/client';
import { ConfigApplier } from './applier.js';
import { IngressController } from './controller.js';
import type { RenderOptions } from './config/render.js';
import { sslDir } from './config/render.js';
import { startHealthServer } from './health.js';
import { IngressMetrics } from './metrics.js';
import { ensureFakeCertificate, Nginx } from './nginx.js';

export interface IngressOptions {
  /** The api-server, its CA and a token file; default: the pod's in-cluster configuration. */
  rest?: RestClientOptions;
  /** nginx.conf, certificates and nginx's temporary files. Default /etc/nginx (the container's own). */
  confDir?: string;
  /** Default `nginx`. */
  nginxBinary?: string;
  /** Address nginx listens on (default: all). */
  address?: string;
  /** Default 80. */
  httpPort?: number;
  /** Default 443. */
  httpsPort?: number;
  /** /healthz and /metrics. Default 10254; 0 picks one. */
  healthzPort?: number;
  healthzAddress?: string;
  /** IngressClass spec.controller we implement. Default k8s.io/ingress-nginx. */
  controllerClass?: string;
  /** Class name of the legacy annotation. Default nginx. */
  ingressClass?: string;
  /** Serve Ingresses without a class even when our class is not the default. */
  watchWithoutClass?: boolean;
  /** `namespace/name` of the LoadBalancer Service whose addresses the Ingresses' status gets. */
  publishService?: string;
  /** nginx's worker_processes. Default auto. */
  workerProcesses?: string;
  /** The access log on stdout. Default true. */
  accessLog?: boolean;
  /** Delay between a change and its sync. Default 100 ms. */
  debounceMs?: number;
}

export interface RunningIngress {
  healthzPort: number;
  controller: IngressController;
  nginx: Nginx;
  /** Resolves once the caches synced and nginx loaded their configuration. */
  ready: Promise<void>;
  /** Resolves (with nginx's exit code) if nginx exits without being stopped. */
  failed: Promise<number | null>;
  stop(): Promise<void>;
}

export async function start(o: IngressOptions = {}, log: Logger = pino({ name: 'ingress' })): Promise<RunningIngress> {
  const config = o.rest ?? inClusterConfig();
  if (!config) throw new Error('not in a pod (KUBERNETES_SERVICE_HOST/PORT unset) and no api-server given');
  const client = new RestClient(config);
  const confDir = o.confDir ?? '/etc/nginx';
  const listen = (port: number) => (o.address ? `${o.address.includes(':') ? `[${o.address}]` : o.address}:${port}` : String(port));
  const classes = {
    controllerClass: o.controllerClass ?? 'k8s.io/ingress-nginx',
    ingressClass: o.ingressClass ?? 'nginx',
    watchWithoutClass: !!o.watchWithoutClass,
  };
  const render: RenderOptions = {
    ...classes,
    confDir,
    httpListen: listen(o.httpPort ?? 80),
    httpsListen: listen(o.httpsPort ?? 443),
    defaultCertificate: `${sslDir(confDir)}/default-fake-certificate.pem`,
    workerProcesses: o.workerProcesses,
    accessLog: o.accessLog,
  };
  const nginx = new Nginx({ binary: o.nginxBinary, confDir, log });
  await ensureFakeCertificate(render.defaultCertificate);
  const metrics = new IngressMetrics();
  const applier = new ConfigApplier(nginx, render, log, metrics);
  const factory = new InformerFactory(client, (err) => log.warn({ err: String(err) }, 'informer error'));
  const informers = {
    ingresses: factory.for({ group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' }),
    classes: factory.for({ group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses' }),
    services: factory.for({ version: 'v1', resource: 'services' }),
    slices: factory.for({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' }),
    secrets: factory.for({ version: 'v1', resource: 'secrets' }),
  };
  const recorder = new EventRecorder(client, { component: 'nginx-ingress-controller', host: hostname() });
  const controller = new IngressController(
    informers,
    applier,
    client,
    recorder,
    { ...classes, publishService: o.publishService, debounceMs: o.debounceMs },
    log,
  );
  const health = await startHealthServer(
    o.healthzPort ?? 10254,
    o.healthzAddress ?? '0.0.0.0',
    () => controller.ready && nginx.pid !== undefined,
    metrics.registry,
  );
  log.info({ server: config.server, confDir, healthzPort: health.port, publishService: o.publishService }, 'ingress controller starting');

  let stopping = false;
  const running = factory.start().then(() => {
    log.info({ ingresses: informers.ingresses.lister.size }, 'informers synced');
    return controller.run();
  });
  const ready = (async () => {
    await factory.start();
    while (!controller.ready && !stopping) await new Promise((r) => setTimeout(r, 20));
  })();
  // nginx is the data plane: when its master dies, the controller should too, and the kubelet restart the container.
  const failed = ready.then(() => nginx.exited?.then((code) => (stopping ? new Promise<never>(() => undefined) : code)) ?? new Promise<never>(() => undefined));
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    controller.stop();
    factory.stop();
    await running.catch(() => undefined);
    await nginx.stop();
    await health.close();
    client.close();
  };
  return { healthzPort: health.port, controller, nginx, ready, failed, stop };
}
