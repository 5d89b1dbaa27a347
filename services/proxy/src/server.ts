/**
 * The kube-proxy process of one node: informers on Services, EndpointSlices and its
 * own Node (gRPC watch streams), a sync runner that turns their changes into one
 * kernel write per sync, /healthz on 10256 and /metrics on 10249. In userspace mode
 * (and ipvs mode, which here runs on the userspace data path) the process is also
 * the data path: its listeners carry every Service connection of the node.
 */
import http from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { pino, type Logger } from 'pino';
import type { KubeObject } from '@kemu/api';
import { ApiClient, InformerFactory, exposition, keyOf, newMetricsRegistry, startWhenListening, type Informer, type MetricsRegistry } from '@kemu/client';
import { servicePortsFromService } from './model/from-k8s.js';
import { ModelTracker, sliceServiceKey } from './model/tracker.js';
import type { NodeFacts } from './model/types.js';
import { spawnExec, type Exec } from './runtime/exec.js';
import { proxyHealth } from './runtime/health.js';
import { ProgrammingLatency, ProxyMetrics } from './runtime/metrics.js';
import { IptablesProxier, NftablesProxier, cleanupIptables, cleanupNftables, type Proxier } from './runtime/proxiers.js';
import { FULL_SYNC_PERIOD_MS, SyncRunner, wantsFullSync, type SyncReason } from './runtime/sync-runner.js';
import { UserspaceProxier } from './runtime/userspace-proxier.js';
import { chooseDataPath, describeDataPath, kernelHasIpvs, type DataPath } from './runtime/data-path.js';
import { DataPathMetrics } from './runtime/metrics.js';
import { isIptablesModeChain } from './runtime/kernel.js';
import { IPTABLES_BACKENDS, detectBackend, type IptablesBackend } from './runtime/backend.js';
import { isUserspaceChain } from './userspace/portals.js';
import type { SchedulerName } from './userspace/schedulers.js';

export const PROXY_MODES = ['iptables', 'nftables', 'ipvs', 'userspace'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

export interface ProxyOptions {
  /** host:port of the api-server's gRPC listener. */
  apiserver: string;
  caFile: string;
  tokenFile: string;
  nodeName: string;
  /** The node's address (NodePorts, LoadBalancerSourceRanges); default: the Node's InternalIP. */
  nodeIP?: string;
  /** Default iptables. */
  mode?: ProxyMode;
  /**
   * Which iptables the iptables mode runs (kemu's --iptables-backend): nft or legacy, or auto (the default), which
   * picks the one this node already uses, as kube-proxy's image does with iptables-wrapper (nft on an empty node).
   */
  iptablesBackend?: IptablesBackend | 'auto';
  /** The IPVS scheduler of the userspace data path (userspace and ipvs modes; --ipvs-scheduler). Default rr. */
  ipvsScheduler?: SchedulerName;
  /** Idle timeout of a UDP session in the userspace data path (--udp-timeout). Default 250 ms. */
  udpIdleTimeoutMs?: number;
  /** Whether the kernel has IPVS (tests fake it). Default: /proc/net/ip_vs exists. */
  kernelHasIpvs?: () => boolean;
  /** Pod network, for "is this traffic from a pod" (masquerade decisions). Default 10.244.0.0/16. */
  clusterCIDR?: string;
  /** ClusterIP range (nftables drops traffic to unallocated ClusterIPs in it). Default 10.96.0.0/12. */
  serviceCIDR?: string;
  /** Least time between two syncs (--min-sync-period). Default 1000. */
  minSyncPeriodMs?: number;
  /**
   * A sync at least this often (--sync-period): in iptables mode a partial one unless the canary chains are gone (a
   * full one is hourly, as kube-proxy's); in the other modes a full one. Default 30000.
   */
  syncPeriodMs?: number;
  /** /healthz port (0 picks one). Default 10256. */
  healthzPort?: number;
  /** /metrics port (0 picks one). Default 10249. */
  metricsPort?: number;
  bindAddress?: string;
  /** How the kernel tools are run (tests fake it). */
  exec?: Exec;
  /** Read and write /proc/sys entries (tests fake it). */
  sysctl?: { read(key: string): Promise<string | undefined>; write(key: string, value: string): Promise<void> };
  now?: () => number;
}

export interface RunningProxy {
  mode: ProxyMode;
  /** What carries the traffic, and why ipvs mode is not on kernel IPVS. */
  dataPath: DataPath;
  healthzPort: number;
  metricsPort: number;
  /** The /metrics registry (the speaker in the same process adds its gauge). */
  registry: MetricsRegistry;
  /** What /healthz answers now: healthy or not. */
  healthy(): boolean;
  /** Resolves after the next successful sync (tests). */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

const RESOURCES = {
  services: { version: 'v1', resource: 'services' },
  slices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' },
  nodes: { version: 'v1', resource: 'nodes' },
};

const procSysctl = {
  async read(key: string): Promise<string | undefined> {
    try {
      return (await readFile(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8')).trim();
    } catch {
      return undefined;
    }
  },
  async write(key: string, value: string): Promise<void> {
    await writeFile(`/proc/sys/${key.replace(/\./g, '/')}`, value);
  },
};

/** Remove every rule any mode of kube-proxy wrote (kube-proxy --cleanup). */
export async function cleanup(exec: Exec = spawnExec): Promise<{ iptablesChains: number; nftTable: boolean }> {
  return { iptablesChains: await cleanupIptables(exec), nftTable: await cleanupNftables(exec) };
}

export async function start(o: ProxyOptions, log: Logger = pino({ name: 'kube-proxy' })): Promise<RunningProxy> {
  const mode = o.mode ?? 'iptables';
  const path = chooseDataPath(mode, o.ipvsScheduler ?? 'rr', mode === 'ipvs' && (o.kernelHasIpvs ?? kernelHasIpvs)());
  if (path.fallback) log.warn({ mode, dataPath: path.dataPath, scheduler: path.scheduler }, path.fallback);
  const exec = o.exec ?? spawnExec;
  const sysctl = o.sysctl ?? procSysctl;
  const now = o.now ?? Date.now;
  const syncPeriodMs = o.syncPeriodMs ?? 30_000;
  const clusterCIDR = o.clusterCIDR ?? '10.244.0.0/16';

  const backend = path.dataPath === 'iptables' ? await chooseIptablesBackend(exec, o.iptablesBackend ?? 'auto') : undefined;
  if (backend) log.info({ backend, asked: o.iptablesBackend ?? 'auto' }, 'iptables backend');
  // The other modes' leftovers would intercept traffic before ours (kube-proxy cleans them at start too).
  if (await cleanupOtherModes(exec, path.dataPath, backend)) log.info({ mode }, 'removed the rules of the other proxy modes');
  await nodeSysctls(sysctl, mode, log);

  const registry = newMetricsRegistry();
  const dataPathMetrics = new DataPathMetrics(registry);
  dataPathMetrics.info.set({ mode, data_path: path.dataPath, scheduler: path.scheduler ?? '' }, 1);
  const proxier: Proxier & { stop?(): Promise<void> } =
    path.dataPath === 'iptables'
      ? new IptablesProxier(exec, { localhostNodePorts: true }, backend)
      : path.dataPath === 'nftables'
        ? new NftablesProxier(exec, { serviceCIDRs: [o.serviceCIDR ?? '10.96.0.0/12'] })
        : new UserspaceProxier(exec, {
            scheduler: path.scheduler ?? 'rr',
            counters: dataPathMetrics.counters(),
            ...(o.udpIdleTimeoutMs === undefined ? {} : { udpIdleTimeoutMs: o.udpIdleTimeoutMs }),
            ...(o.now ? { now: o.now } : {}),
          });
  const metrics = new ProxyMetrics(registry);
  const latency = new ProgrammingLatency();
  const client = new ApiClient({ address: o.apiserver, ca: readFileSync(o.caFile), token: readFileSync(o.tokenFile, 'utf8').trim() });
  const informers = new InformerFactory(client, (err) => log.warn({ err }, 'informer error'));
  const services = informers.for(RESOURCES.services);
  const slices = informers.for(RESOURCES.slices, { indexers: { service: (s) => [sliceServiceKey(s as EndpointSlice) ?? ''] } });
  const tracker = new ModelTracker();
  const modelSource = {
    service: (key: string) => services.lister.get(key) as Service | undefined,
    slices: (key: string) => slices.lister.byIndex('service', key) as EndpointSlice[],
    serviceKeys: () => services.lister.list().map(keyOf),
  };
  const nodes = informers.for(RESOURCES.nodes, { fieldSelector: `metadata.name=${o.nodeName}` });

  let lastUpdated: number | undefined;
  let lastFull = Number.NEGATIVE_INFINITY;
  let nodeIP = o.nodeIP;
  let waiters: (() => void)[] = [];
  // The initial list is the state, not a change: programming latency counts only what changes after it.
  let cachesSynced = false;

  const sync = async (reason: SyncReason): Promise<void> => {
    if (!nodeIP) {
      log.info({ node: o.nodeName }, 'waiting for the Node to know its address');
      return;
    }
    const node: NodeFacts = { nodeName: o.nodeName, nodeIP, localDetector: { mode: 'ClusterCIDR', cidr: clusterCIDR } };
    const started = now();
    const lost = reason === 'periodic' && (proxier.rulesLost ? await proxier.rulesLost() : true);
    const full = wantsFullSync(reason, started - lastFull, lost, proxier.periodicFullSync === false ? Infinity : FULL_SYNC_PERIOD_MS);
    const changes = latency.take();
    try {
      const entries = tracker.entries(modelSource);
      const r = await proxier.sync(entries, node, full);
      const done = now();
      const seconds = (done - started) / 1000;
      metrics.syncDuration.observe(seconds);
      (r.full ? metrics.fullSyncDuration : metrics.partialSyncDuration).observe(seconds);
      if (r.full) lastFull = started;
      if (r.resyncInMs !== undefined) runner.syncWithin(r.resyncInMs);
      for (const [table, n] of Object.entries(r.ruleCounts ?? {})) metrics.iptablesTotal.set({ table }, n);
      for (const t of changes) metrics.programmingDuration.observe(Math.max(0, done - t) / 1000);
      metrics.lastSync.set(done / 1000);
      lastUpdated = done;
      log.debug(
        { mode, full: r.full, changed: r.changed, servicePorts: entries.length, deletedChains: r.deletedChains, ms: done - started },
        'synced proxy rules',
      );
      waiters.splice(0).forEach((w) => w());
    } catch (err) {
      // The previous rules stay in the kernel (a failed restore changes nothing); the next sync is full.
      latency.putBack(changes);
      if (path.dataPath !== 'nftables') metrics.restoreFailures.inc();
      log.error({ err, mode, retryInMs: syncPeriodMs }, 'sync of proxy rules failed');
      runner.retryAfter(syncPeriodMs);
    }
  };
  // kube-proxy's proxiers run two syncs in a burst (burstSyncs), then one per --min-sync-period.
  const runner = new SyncRunner(sync, { minIntervalMs: o.minSyncPeriodMs ?? 1000, maxIntervalMs: syncPeriodMs, burst: 2 });

  watchChanges(
    { services, slices, nodes },
    {
      service: (key) => {
        tracker.changed(key);
        metrics.serviceChanges.inc();
        runner.run();
      },
      slice: (obj, old) => {
        for (const s of [obj, old]) {
          const key = s && sliceServiceKey(s as EndpointSlice);
          if (key) tracker.changed(key);
        }
        metrics.endpointChanges.inc();
        if (cachesSynced) latency.record(obj.metadata.annotations, now());
        runner.run();
      },
      node: (obj) => {
        const ip = internalIP(obj);
        if (!o.nodeIP && ip && ip !== nodeIP) {
          nodeIP = ip;
          runner.run();
        }
      },
    },
  );

  const health = () => proxyHealth({ lastUpdated, pendingSince: runner.pendingSince, now: now(), timeoutMs: 2 * syncPeriodMs });
  const healthz = http.createServer((req, res) => {
    const h = health();
    if (req.url === '/healthz' || req.url === '/livez') {
      res.writeHead(h.healthy ? 200 : 503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(h.body));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const metricsServer = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      exposition(registry).then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'Content-Type': contentType });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(err instanceof Error ? err.message : 'metrics collection failed');
        },
      );
    } else if (req.url === '/proxyMode') {
      // The body is the mode, as kube-proxy answers (tools compare it); the header says what carries the traffic.
      res.setHeader('X-Kemu-Data-Path', describeDataPath(path));
      res.end(mode);
    } else if (req.url === '/healthz') {
      res.end('ok');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const listen = (s: http.Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, o.bindAddress ?? '0.0.0.0', () => resolve((s.address() as AddressInfo).port));
    });
  const healthzPort = await listen(healthz, o.healthzPort ?? 10256);
  const metricsPort = await listen(metricsServer, o.metricsPort ?? 10249);

  // kube-proxy programs nothing until it has seen every Service and slice: a sync from a partial
  // cache would delete the chains of Services not listed yet.
  const starting = startWhenListening(
    o.apiserver,
    () => informers.start(),
    () => {
      cachesSynced = true;
      log.info({ services: services.lister.size, endpointSlices: slices.lister.size }, 'caches synced; programming the node');
      runner.start();
    },
    () => log.info({ apiserver: o.apiserver }, 'waiting for the api-server'),
  );

  return {
    mode,
    dataPath: path,
    healthzPort,
    metricsPort,
    registry,
    healthy: () => health().healthy,
    synced: () => new Promise((r) => waiters.push(r)),
    async stop() {
      starting.cancel();
      informers.stop();
      await runner.stop();
      await proxier.stop?.();
      waiters = [];
      healthz.close();
      metricsServer.close();
      client.close();
    },
  };
}

/**
 * Remove what the data paths other than `keep` wrote: the nft table, the iptables
 * mode's chains, the userspace portals. Whether anything was there.
 */
async function cleanupOtherModes(exec: Exec, keep: DataPath['dataPath'], backend: IptablesBackend | undefined): Promise<boolean> {
  const nft = keep !== 'nftables' && (await cleanupNftables(exec));
  const owned = keep === 'iptables' ? isUserspaceChain : keep === 'userspace' ? isIptablesModeChain : undefined;
  let chains = await cleanupIptables(exec, owned, backend);
  // Rules the other iptables backend holds run too, in an order neither controls: in iptables mode all of
  // kube-proxy's go from the backend not in use; in the other modes (which write with the host's iptables, nft on
  // kemu's Debian nodes) the iptables mode's go from iptables-legacy too.
  if (backend) for (const other of IPTABLES_BACKENDS.filter((b) => b !== backend)) chains += await cleanupIptables(exec, undefined, other);
  else chains += await cleanupIptables(exec, owned, 'legacy');
  return nft || chains > 0;
}

/** The backend asked for, or with auto the one the node uses (iptables-wrapper's detection). */
async function chooseIptablesBackend(exec: Exec, asked: IptablesBackend | 'auto'): Promise<IptablesBackend> {
  return asked === 'auto' ? detectBackend(exec) : asked;
}

function internalIP(node: KubeObject): string | undefined {
  const status = node.status as { addresses?: { type?: string; address?: string }[] } | undefined;
  const addrs = status?.addresses ?? [];
  return addrs.find((a) => a.type === 'InternalIP')?.address;
}

/** Services ask for a sync only when what kube-proxy programs from them changed (not on status-only writes). */
function watchChanges(
  inf: { services: Informer; slices: Informer; nodes: Informer },
  on: { service: (key: string) => void; slice: (obj: KubeObject, old?: KubeObject) => void; node: (obj: KubeObject) => void },
): void {
  const ports = (o: KubeObject): string => JSON.stringify(servicePortsFromService(o as Service));
  inf.services.on({
    add: (o) => on.service(keyOf(o)),
    update: (a, b) => {
      if (ports(a) !== ports(b)) on.service(keyOf(b));
    },
    delete: (o) => on.service(keyOf(o)),
  });
  inf.slices.on({ add: (o) => on.slice(o), update: (a, b) => on.slice(b, a), delete: (o) => on.slice(o) });
  inf.nodes.on({ add: on.node, update: (_a, b) => on.node(b) });
}

/**
 * Bridged pod-to-pod traffic must pass the iptables hooks, or a reply from a pod to a
 * pod on the same bridge skips the un-DNAT of a ClusterIP connection. The kubelet
 * turns this on when it sets up cni0; kube-proxy makes sure (the switch is per
 * network namespace, so this is the node's own). localhost NodePorts need route_localnet,
 * NodePorts without a local endpoint need forwarding.
 */
async function nodeSysctls(sysctl: NonNullable<ProxyOptions['sysctl']>, mode: ProxyMode, log: Logger): Promise<void> {
  const key = 'net.bridge.bridge-nf-call-iptables';
  const v = await sysctl.read(key);
  if (v === undefined)
    log.warn({ sysctl: key }, 'bridge netfilter is missing (no br_netfilter): ClusterIP replies between pods on one bridge will not be un-NATed');
  else if (v !== '1') {
    await sysctl.write(key, '1');
    log.info({ sysctl: key, was: v }, 'set net.bridge.bridge-nf-call-iptables=1 in the node namespace');
  }
  // A NodePort on a node without a local endpoint forwards to another node's pod. The kubelet turns
  // forwarding on only when it sets up cni0 (for its first pod); a node without pods must forward too.
  const fwd = 'net.ipv4.ip_forward';
  if ((await sysctl.read(fwd)) === '0') {
    await sysctl.write(fwd, '1');
    log.info({ sysctl: fwd }, "set net.ipv4.ip_forward=1 in the node namespace (NodePorts forward to other nodes' pods)");
  }
  if (mode === 'iptables') {
    const rl = 'net.ipv4.conf.all.route_localnet';
    if ((await sysctl.read(rl)) === '0') {
      await sysctl.write(rl, '1');
      log.info({ sysctl: rl }, 'set route_localnet=1 so NodePorts answer on 127.0.0.1');
    }
  }
}
