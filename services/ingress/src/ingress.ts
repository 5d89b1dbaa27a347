/**
 * The ingress controller process: informers on Ingresses, IngressClasses,
 * Services, EndpointSlices, Secrets and its ConfigMap (over REST with the
 * pod's service account, through the `kubernetes` Service), the controller
 * loop driving Debian's nginx, and /healthz and /metrics on 10254. nginx
 * starts with the first configuration made from synced caches. With an
 * election id, the replicas elect the one that writes Ingress status through
 * a Lease in the pod's namespace.
 */
import { hostname } from 'node:os';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { IngressLoadBalancerIngress } from 'kubernetes-types/networking/v1.js';
import { pino, type Logger } from 'pino';
import { EventRecorder, InformerFactory, LeaderElector, RestClient, inClusterConfig, type RestClientOptions } from '@kemu/client/rest';
import { ConfigApplier } from './applier.js';
import { IngressController } from './controller.js';
import type { RenderOptions } from './config/render.js';
import { sslDir } from './config/render.js';
import { startHealthServer } from './health.js';
import { IngressMetrics } from './metrics.js';
import { ensureFakeCertificate, Nginx } from './nginx.js';
import { nodeAddresses } from './status.js';

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
  /** `namespace/name` of the Service unmatched requests go to (--default-backend-service); default: nginx's own 404. */
  defaultBackendService?: string;
  /** `namespace/name` of the ConfigMap of nginx settings (--configmap). */
  configMap?: string;
  /** Prefix of the annotations read (--annotations-prefix). Default nginx.ingress.kubernetes.io. */
  annotationsPrefix?: string;
  /**
   * The Lease the replicas elect the status writer with (--election-id; ingress-nginx names it so since 1.x,
   * and `<id>-<ingress class>` before, which `legacy` takes). Without it every replica writes status.
   */
  electionId?: string;
  /** A release of before IngressClass (0.x): the class annotation alone decides, legacy rewrite, legacy lock name. */
  legacy?: boolean;
  /** The controller's pod (POD_NAME, POD_NAMESPACE): the lock's namespace and holder, and its node's address for status. */
  pod?: { name: string; namespace: string };
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
    legacy: !!o.legacy,
  };
  const render: RenderOptions = {
    ...classes,
    annotationsPrefix: o.annotationsPrefix,
    defaultBackendService: o.defaultBackendService,
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
    configMap: o.configMap ? configMapInformer(factory, o.configMap) : undefined,
  };
  const elector = o.electionId
    ? new LeaderElector(client, {
        name: o.legacy ? `${o.electionId}-${classes.ingressClass}` : o.electionId,
        namespace: o.pod?.namespace ?? 'default',
        identity: o.pod?.name ?? hostname(),
        onStartedLeading: () => {
          log.info({ lock: o.electionId }, 'leading: this replica writes Ingress status');
          controller.resync();
        },
        onStoppedLeading: () => log.info('no longer leading'),
        onNewLeader: (leader) => log.info({ leader }, 'new leader elected'),
      })
    : undefined;
  const pod = o.pod;
  const recorder = new EventRecorder(client, { component: 'nginx-ingress-controller', host: hostname() });
  const controller = new IngressController(
    informers,
    applier,
    client,
    recorder,
    {
      ...classes,
      publishService: o.publishService,
      debounceMs: o.debounceMs,
      isLeader: elector ? () => elector.isLeader : undefined,
      runningAddresses: pod ? () => podNodeAddresses(client, pod) : undefined,
    },
    log,
  );
  // Without --publish-service the addresses follow the controller's pods, which no informer here watches: the
  // leader looks again now and then (ingress-nginx every 60 s).
  const statusTimer = pod && !o.publishService ? setInterval(() => controller.resync(), 30_000) : undefined;
  statusTimer?.unref();
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
    void elector?.run();
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
    if (statusTimer) clearInterval(statusTimer);
    await elector?.stop();
    controller.stop();
    factory.stop();
    await running.catch(() => undefined);
    await nginx.stop();
    await health.close();
    client.close();
  };
  return { healthzPort: health.port, controller, nginx, ready, failed, stop };
}

/** An informer on one ConfigMap, `namespace/name`. */
function configMapInformer(factory: InformerFactory, ref: string) {
  const [namespace, name] = ref.includes('/') ? ref.split('/', 2) : ['default', ref];
  return factory.for({ version: 'v1', resource: 'configmaps', namespace }, { fieldSelector: `metadata.name=${name}` });
}

/**
 * The addresses of the nodes running the controller's replicas: the pods with this pod's labels, as
 * ingress-nginx finds its siblings.
 */
async function podNodeAddresses(client: RestClient, pod: { name: string; namespace: string }): Promise<IngressLoadBalancerIngress[]> {
  const self = (await client.get({ version: 'v1', resource: 'pods', namespace: pod.namespace }, pod.name)) as Pod;
  const labelSelector = Object.entries(self.metadata?.labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = (await client.list({ version: 'v1', resource: 'pods', namespace: pod.namespace }, { labelSelector })).items as Pod[];
  const running = pods.filter((p) => p.spec?.nodeName && !p.metadata?.deletionTimestamp);
  const names = [...new Set(running.map((p) => p.spec?.nodeName ?? ''))];
  const nodes = await Promise.all(names.map(async (n) => (await client.get({ version: 'v1', resource: 'nodes' }, n)) as Node));
  return nodeAddresses(running, nodes);
}
