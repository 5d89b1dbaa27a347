/**
 * The kubelet: register the Node (addresses, capacity, node info, labels),
 * keep its Lease in kube-node-lease renewed and post the node's conditions
 * (heartbeat.ts; deleting the Node makes the kubelet register it again, as
 * Kubernetes' kubelet does); with `runPods`, run the pods bound to the node
 * (PodManager, once the node has a podCIDR) and serve the kubelet API on
 * port 10250 (logs, exec, attach, port-forward, proxy).
 */
import { cpus, freemem, release, totalmem, arch as osArch } from 'node:os';
import { readFileSync, statfsSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { Node, Taint } from 'kubernetes-types/core/v1.js';
import { EventRecorder, InformerFactory, runComponent, sleep, type ApiClient, type ComponentOptions, type RunningComponent } from '@kemu/client';
import { PodManager } from './pods.js';
import { startStreamingServer } from './streaming/server.js';
import { KUBEADM_AUTH, KubeletAuth, type KubeletAuthConfig } from './streaming/auth.js';
import { apiReviews } from './streaming/reviews.js';
import type { NodeFacts } from './node-status.js';
import { fromApi, leaseTimings, register, runHeartbeats } from './heartbeat.js';
import { runStaticPods } from './static-pods/reporter.js';
import { clientCertificate } from './tls-bootstrap.js';

export interface KubeletOptions extends Omit<ComponentOptions, 'leaseName' | 'leaderElect'> {
  nodeName: string;
  nodeIP: string;
  /** Defaults: this machine's cores and memory. */
  cpu?: number;
  memoryBytes?: number;
  maxPods?: number;
  controlPlane?: boolean;
  /** --node-labels and --register-with-taints. */
  labels?: Record<string, string>;
  taints?: Taint[];
  /** --bootstrap-token-file and --cert-dir: TLS bootstrapping (tls-bootstrap.ts), the node's own client certificate. */
  bootstrap?: { tokenFile: string; certDir: string };
  /** --pod-manifest-path: static pods, reported as mirror pods (static-pods/). */
  staticPods?: { dir: string; periodMs: number; token?: string };
  /** --node-lease-duration-seconds (Kubernetes: 40); the lease is renewed every quarter of it, as the kubelet does. */
  nodeLeaseDurationSeconds?: number;
  /** --node-status-update-frequency in seconds (Kubernetes: 10; every 100 ms until the node is Ready). */
  statusSeconds?: number;
  /** Run the pods bound to this node (needs root and the node's netns name). */
  runPods?: {
    netns: string;
    podNsPrefix: string;
    stateDir: string;
    backend?: 'host-gw' | 'vxlan';
    /** --cluster-dns (default 10.96.0.10), --cluster-domain (default cluster.local): pods' resolver. */
    clusterDNS?: string;
    clusterDomain?: string;
    /** The pod network, not masqueraded (default 10.244.0.0/16). */
    clusterCIDR?: string;
    /** --endpoint-drain-timeout (endpoint-drain.ts). */
    endpointDrainMs?: number;
  };
  /**
   * Serve the kubelet API (logs, exec, attach, port-forward, proxy, pods) on the node address; its callers are
   * authenticated and authorized as `auth` says (default kubeadm's: no anonymous, TokenReview, SubjectAccessReview).
   */
  api?: { port: number; certFile: string; keyFile: string; caFile: string; auth?: KubeletAuthConfig };
}

const NODES = { version: 'v1', resource: 'nodes' };

function osImage(): string {
  try {
    return /PRETTY_NAME="?([^"\n]+)"?/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function facts(o: KubeletOptions): NodeFacts {
  let disk = 1;
  try {
    const s = statfsSync('/');
    disk = s.bavail / s.blocks;
  } catch {
    /* keep 1 */
  }
  return {
    name: o.nodeName,
    ip: o.nodeIP,
    cpu: o.cpu ?? cpus().length,
    memoryBytes: o.memoryBytes ?? totalmem(),
    maxPods: o.maxPods ?? 110,
    kernel: release(),
    osImage: osImage(),
    arch: osArch() === 'x64' ? 'amd64' : osArch(),
    memoryAvailable: freemem(),
    diskFreeFraction: disk,
    pidsUsedFraction: 0,
    controlPlane: o.controlPlane,
    labels: o.labels,
    taints: o.taints,
  };
}

async function runPods(client: ApiClient, o: KubeletOptions, rp: NonNullable<KubeletOptions['runPods']>, log: Logger, signal: AbortSignal): Promise<void> {
  // The node IPAM controller gives the node its podCIDR; pods need it.
  let podCIDR = '';
  while (!podCIDR && !signal.aborted) {
    const node = await client.get(NODES, o.nodeName).catch(() => undefined);
    podCIDR = (node && fromApi<Node>(node).spec?.podCIDR) ?? '';
    if (!podCIDR) await sleep(500, signal);
  }
  if (signal.aborted) return;
  const informers = new InformerFactory(client, (err) => log.warn({ err }, 'informer error'));
  const f = facts(o);
  const pods = new PodManager(
    {
      client,
      recorder: new EventRecorder(client, { component: 'kubelet', host: o.nodeName }),
      log,
      nodeName: o.nodeName,
      nodeIP: o.nodeIP,
      netns: rp.netns,
      podNsPrefix: rp.podNsPrefix,
      podCIDR,
      stateDir: rp.stateDir,
      node: { cpu: f.cpu, memory: f.memoryBytes },
      backend: rp.backend,
      dnsIP: rp.clusterDNS,
      clusterDomain: rp.clusterDomain,
      clusterCIDR: rp.clusterCIDR,
      endpointDrainMs: rp.endpointDrainMs,
    },
    informers,
  );
  await pods.setUpOverlay();
  pods.recover();
  const api = o.api
    ? await startStreamingServer({
        host: o.nodeIP,
        port: o.api.port,
        certFile: o.api.certFile,
        keyFile: o.api.keyFile,
        caFile: o.api.caFile,
        pods,
        log,
        auth: new KubeletAuth(o.api.auth ?? KUBEADM_AUTH, o.nodeName, apiReviews(client)),
      })
    : undefined;
  signal.addEventListener('abort', () => api?.close(), { once: true });
  signal.addEventListener('abort', () => informers.stop(), { once: true });
  await informers.start();
  log.info({ podCIDR }, 'running pods');
  await pods.run(4, signal);
  await pods.detach();
}

export async function start(o: KubeletOptions, log: Logger = pino({ name: 'kubelet' })): Promise<RunningComponent> {
  let podsDone: Promise<void> = Promise.resolve();
  // Without a token, the node's own certificate: kept from before, or asked for with the bootstrap token.
  const b = o.bootstrap;
  const clientCert =
    b && !o.tokenFile
      ? await clientCertificate({ apiserver: o.apiserver, caFile: o.caFile, bootstrapTokenFile: b.tokenFile, certDir: b.certDir, nodeName: o.nodeName }, log)
      : undefined;
  const component = await runComponent(
    {
      port: 10248,
      ...o,
      clientCert,
      leaseName: 'kubelet',
      leaderElect: false,
      onWaiting: () => log.info({ apiserver: o.apiserver }, 'waiting for the api-server'),
    },
    async (client, signal) => {
      const hb = {
        nodeName: o.nodeName,
        facts: () => facts(o),
        timings: leaseTimings(o.nodeLeaseDurationSeconds ?? 40, (o.statusSeconds ?? 10) * 1000),
      };
      const node = await register(client, hb, log, signal);
      if (!node) return;
      if (o.runPods) podsDone = runPods(client, o, o.runPods, log, signal).catch((e) => log.error({ err: e }, 'pods stopped'));
      const sp = o.staticPods;
      if (sp) void runStaticPods(client, { ...sp, clientCert, nodeName: o.nodeName, nodeIP: o.nodeIP }, log, signal);
      await runHeartbeats(client, hb, node, log, signal);
    },
    () => undefined,
  );
  // Stopping waits for the containers to be stopped and their namespaces removed.
  return {
    ...component,
    isLeader: () => component.isLeader(),
    stop: async () => {
      await component.stop();
      await podsDone;
    },
  };
}
