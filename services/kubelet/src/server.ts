/**
 * The kubelet: register the Node (addresses, capacity, node info, labels),
 * keep its Lease in kube-node-lease renewed every 10 s and post the node's
 * conditions (deleting the Node makes the kubelet register it again, as
 * Kubernetes' kubelet does); with `runPods`, run the pods bound to the node
 * (PodManager, once the node has a podCIDR) and serve the kubelet API on
 * port 10250 (logs, exec, attach, port-forward, proxy).
 */
import { cpus, freemem, release, totalmem, arch as osArch } from 'node:os';
import { readFileSync, statfsSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { formatMicroTime, isAlreadyExists, isNotFound, type KubeObject } from '@kemu/api';
import { EventRecorder, InformerFactory, runComponent, sleep, type ApiClient, type ComponentOptions, type RunningComponent } from '@kemu/client';
import { PodManager } from './pods.js';
import { startStreamingServer } from './streaming/server.js';
import { nodeObject, type NodeFacts } from './node-status.js';

export interface KubeletOptions extends Omit<ComponentOptions, 'leaseName' | 'leaderElect'> {
  nodeName: string;
  nodeIP: string;
  /** Defaults: this machine's cores and memory. */
  cpu?: number;
  memoryBytes?: number;
  maxPods?: number;
  controlPlane?: boolean;
  /** Seconds between lease renewals (Kubernetes: 10). */
  leaseRenewSeconds?: number;
  /** Seconds between status posts (Kubernetes: 10). */
  statusSeconds?: number;
  /** Run the pods bound to this node (needs root and the node's netns name). */
  runPods?: { netns: string; podNsPrefix: string; stateDir: string; backend?: 'host-gw' | 'vxlan' };
  /** Serve the kubelet API (logs, exec, attach, port-forward, proxy) on the node address. */
  api?: { port: number; certFile: string; keyFile: string; caFile: string };
}

const NODES = { version: 'v1', resource: 'nodes' };
const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-node-lease' };
const microTime = () => formatMicroTime();
/** The client hands out Kubernetes JSON as `KubeObject`; the kubelet reads it as the kubernetes-types it is (the one cast). */
const fromApi = <T extends Node | Lease>(o: KubeObject): T => o as unknown as T;

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
  };
}

/**
 * Create the Node (not ready yet), or take over an existing one (labels only). Ready is posted by the heartbeat
 * loop after the Lease is renewed, so a node that ever showed Ready has a Lease the node lifecycle controller
 * watches, even if this kubelet dies right after registering.
 */
async function register(client: ApiClient, o: KubeletOptions, log: Logger): Promise<KubeObject> {
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    try {
      const existing = await client.get(NODES, o.nodeName).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      if (!existing) {
        const created = await client.create(NODES, nodeObject(facts(o), undefined, new Date(), false));
        log.info({ node: o.nodeName }, 'node registered');
        return created;
      }
      return await client.patch(NODES, o.nodeName, { metadata: { labels: nodeObject(facts(o), fromApi<Node>(existing), new Date()).metadata.labels } });
    } catch (e) {
      if (isAlreadyExists(e)) continue;
      log.warn({ err: e }, 'registration failed; retrying');
      await sleep(delay);
    }
  }
}

async function renewLease(client: ApiClient, o: KubeletOptions, node: KubeObject): Promise<void> {
  const spec = { holderIdentity: o.nodeName, leaseDurationSeconds: 40, renewTime: microTime() };
  // Owned by the Node, so the garbage collector removes it with the Node; a re-registered Node takes it over.
  const ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: o.nodeName, uid: node.metadata.uid! }];
  try {
    const lease = fromApi<Lease>(await client.get(LEASES, o.nodeName));
    await client.update(LEASES, { ...lease, metadata: { ...lease.metadata, ownerReferences }, spec: { ...lease.spec, ...spec } });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await client.create(LEASES, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: o.nodeName, namespace: 'kube-node-lease', ownerReferences },
      spec,
    });
  }
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
    },
    informers,
  );
  await pods.setUpOverlay();
  pods.recover();
  const api = o.api
    ? await startStreamingServer({ host: o.nodeIP, port: o.api.port, certFile: o.api.certFile, keyFile: o.api.keyFile, caFile: o.api.caFile, pods, log })
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
  const component = await runComponent(
    { port: 10248, ...o, leaseName: 'kubelet', leaderElect: false },
    async (client, signal) => {
      let node = await register(client, o, log);
      if (o.runPods) podsDone = runPods(client, o, o.runPods, log, signal).catch((e) => log.error({ err: e }, 'pods stopped'));
      let lastStatus = 0; // the first status (Ready) goes right after the first lease renewal
      while (!signal.aborted) {
        try {
          await renewLease(client, o, node);
          if (Date.now() - lastStatus >= (o.statusSeconds ?? 10) * 1000) {
            const cur = await client.get(NODES, o.nodeName);
            node = await client.update(NODES, { ...cur, status: nodeObject(facts(o), fromApi<Node>(cur), new Date()).status }, 'status');
            lastStatus = Date.now();
          }
        } catch (e) {
          if (isNotFound(e)) {
            log.warn({ node: o.nodeName }, 'node object gone; registering again');
            node = await register(client, o, log);
            lastStatus = 0;
            continue;
          } else log.warn({ err: e }, 'heartbeat failed');
        }
        await sleep((o.leaseRenewSeconds ?? 10) * 1000, signal);
      }
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
