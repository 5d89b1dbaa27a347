/**
 * The controller-manager: while it leads (Lease `kube-controller-manager`
 * in kube-system), shared informers feed every controller of CONTROLLERS.
 */
import { pino, type Logger } from 'pino';
import { EventRecorder, InformerFactory, runComponent, type ComponentOptions, type RunningComponent } from '@kemu/client';
import { CONTROLLERS } from './controllers/index.js';
import type { ControllerContext } from './context.js';
import { ServiceAccountCredentials } from './sa-credentials.js';
import { defaultLbRange, nodeCidrFromApiserver, parseLbRange, type IpRange } from './controllers/service-lb-pool.js';
import { readFileSync } from 'node:fs';

function readRootCA(file: string | undefined): string | undefined {
  try {
    return file ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

export type ControllerManagerOptions = Omit<ComponentOptions, 'leaseName'> & {
  controllers?: string[];
  rootCAFile?: string;
  /** LoadBalancer address pool: CIDRs or `a.b.c.d-a.b.c.e` ranges, comma-separated. Default: from `nodeCIDR`. */
  lbRange?: string;
  /** The node network; the default pool is its last /24 less .0 and .255. Default: the /16 around the api-server's address. */
  nodeCIDR?: string;
  /** --cluster-cidr: the pod network, a /24 of it per node. Default 10.244.0.0/16. */
  clusterCIDR?: string;
  /** --cluster-signing-cert-file / -key-file / -duration: the CA csrsigning signs with. */
  clusterSigning?: { certFile: string; keyFile: string; durationSeconds: number };
  /** --node-monitor-period (Kubernetes: 5 s). */
  nodeMonitorPeriodMs?: number;
  /** --node-monitor-grace-period (Kubernetes: 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /**
   * --use-service-account-credentials: every controller writes as its own service account
   * kube-system/<name>, as kubeadm runs kube-controller-manager. Default true (kube-controller-manager's
   * default is false, but kemu's manager identity, like kubeadm's, holds no more than
   * system:kube-controller-manager, which may not write the controllers' objects).
   */
  useServiceAccountCredentials?: boolean;
};

/**
 * The LoadBalancer pool the options give: `lbRange`, else the top of the node network
 * (given, or the /16 the api-server's address lies in, as kemu lays out its network),
 * else none. Throws AddressError on a malformed range, before anything starts.
 */
export function lbPoolOf(o: Pick<ControllerManagerOptions, 'lbRange' | 'nodeCIDR' | 'apiserver'>): IpRange[] {
  if (o.lbRange) return parseLbRange(o.lbRange);
  const nodeCIDR = o.nodeCIDR ?? nodeCidrFromApiserver(o.apiserver);
  return nodeCIDR ? defaultLbRange(nodeCIDR) : [];
}

export async function start(
  o: ControllerManagerOptions,
  log: Logger = pino({ name: 'controller-manager' }),
  onLost: () => void = () => process.exit(1),
): Promise<RunningComponent> {
  const lbPool = lbPoolOf(o);
  return runComponent(
    { port: 10257, ...o, leaseName: 'kube-controller-manager', onWaiting: () => log.info({ apiserver: o.apiserver }, 'waiting for the api-server') },
    async (client, signal) => {
      log.info('became leader; starting controllers');
      // The informers are shared, on the manager's own client (its role lists and watches everything).
      const informers = new InformerFactory(client, (err) => log.warn({ err }, 'informer error'));
      const credentials =
        o.useServiceAccountCredentials === false
          ? undefined
          : new ServiceAccountCredentials(client, { address: o.apiserver, ca: readFileSync(o.caFile) }, log.child({ component: 'sa-credentials' }));
      const ctx: ControllerContext = {
        client,
        informers,
        recorder: new EventRecorder(client, { component: 'controller-manager' }),
        log,
        now: () => new Date(),
        rootCA: readRootCA(o.rootCAFile ?? o.caFile),
        lbPool,
        clusterCIDR: o.clusterCIDR,
        clusterSigning: o.clusterSigning && {
          cert: readFileSync(o.clusterSigning.certFile, 'utf8'),
          key: readFileSync(o.clusterSigning.keyFile, 'utf8'),
          durationSeconds: o.clusterSigning.durationSeconds,
        },
        nodeMonitor: { periodMs: o.nodeMonitorPeriodMs ?? 5000, gracePeriodMs: o.nodeMonitorGracePeriodMs ?? 40_000 },
      };
      const chosen = CONTROLLERS.filter((c) => !o.controllers || o.controllers.includes(c.name));
      signal.addEventListener('abort', () => credentials?.stop(), { once: true });
      const controllers = chosen.map((c) => {
        const made = informers.track(() => c.start(credentials ? credentials.contextFor(ctx, c.name) : ctx));
        return { c: made.value, workers: c.workers, own: made.informers };
      });
      signal.addEventListener('abort', () => informers.stop(), { once: true });
      const all = informers.start().then(() => log.info({ controllers: chosen.map((c) => c.name) }, 'controllers running'));
      // Each controller runs once its own caches are synced: the CSR approver and signer, which every new node's TLS
      // bootstrap waits for, do not wait for the lists of every pod, node and endpoint.
      await Promise.all([
        all,
        ...controllers.map(async ({ c, workers, own }) => {
          await Promise.all(own.map((i) => i.waitForSync()));
          await c.run(workers, signal);
        }),
      ]);
    },
    () => {
      log.error('leader election lost');
      onLost();
    },
  );
}
