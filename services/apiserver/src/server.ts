/**
 * Wiring of the api-server: etcd, one watch cache per stored resource, the
 * REST store, bootstrap objects, the HTTPS (REST) and gRPC listeners,
 * health, metrics and periodic etcd compaction.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { storedResources } from '@kemu/api';
import { compileOptions, type ApiServerOptions } from './options.js';
import { EtcdStore } from './storage/etcd-store.js';
import { WatchCache } from './storage/watch-cache.js';
import { ServiceAllocator } from './registry/allocator.js';
import { restore } from './registry/service-strategy.js';
import { Admission } from './registry/admission.js';
import { RestStore } from './registry/rest.js';
import { bootstrap } from './bootstrap.js';
import { KubernetesServiceController } from './controlplane/kubernetes-service.js';
import { EtcdMasterLeases } from './storage/master-leases.js';
import { createHandler } from './http/handler.js';
import { createGrpcService, ApiServerService, GRPC_SERVER_OPTIONS } from './grpc/server.js';
import { ServiceAccountTokens } from './auth/service-account-tokens.js';
import { apiServerMetrics } from './metrics.js';
import { FlowControl } from './http/flowcontrol.js';
import { authenticateRequest, tokenAuthenticator } from './http/auth.js';
import { bootstrapTokenSecret, bootstrapTokenUser } from './auth/bootstrap-tokens.js';
import { requestInfo } from './http/request-info.js';
import { sendStatus } from './http/respond.js';
import { refuseUpgrade } from './http/kubelet-proxy.js';
import { AuditLog } from './audit/log.js';

export type ApiServerState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface ApiServer {
  readonly state: ApiServerState;
  /** The HTTPS port actually bound. */
  readonly port: number;
  readonly grpcPort: number;
  stop(): Promise<void>;
}

export const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: 'kemu',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'tsc',
  platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

export async function start(options: ApiServerOptions, log: Logger = pino({ name: 'apiserver' })): Promise<ApiServer> {
  let state: ApiServerState = 'starting';
  const opts = compileOptions(options);
  const store = new EtcdStore(opts.etcdServers, { tls: opts.etcdTLS, encryption: opts.encryption });
  const caches = new Map<string, WatchCache>();
  const metrics = apiServerMetrics({ storageCounts: () => [...caches.values()].map((c): [string, number] => [c.storage, c.size]) });

  // etcd may still be starting (compose brings both up together): wait for it.
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      await store.revision();
      break;
    } catch (e) {
      log.warn({ err: e }, 'waiting for etcd');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  for (const info of storedResources()) {
    caches.set(
      info.storage,
      new WatchCache(store, info.storage, { capacity: opts.watchCacheSize }, (err) => log.warn({ resource: info.storage, err }, 'watch cache restarting')),
    );
  }
  await Promise.all([...caches.values()].map((c) => c.start()));
  const allocator = new ServiceAllocator({ serviceCidr: opts.serviceCidr, nodePortRange: opts.nodePortRange, reservedIPs: [opts.kubernetesIP, opts.dnsIP] });
  restore(allocator, caches.get('services')!.list({ labels: [], fields: [] }).items);
  const admission = new Admission(
    store,
    () => caches.get('namespaces'),
    allocator,
    (storage) => caches.get(storage),
    opts.defaultTolerationSeconds,
  );
  const rest = new RestStore(store, caches, admission);
  await bootstrap(rest, { bootstrapToken: opts.bootstrapToken });
  const kubernetesService = new KubernetesServiceController({
    rest,
    leases: new EtcdMasterLeases(store),
    advertiseAddress: opts.advertiseAddress,
    port: opts.securePort,
    serviceIP: opts.kubernetesIP,
    log,
  });
  await kubernetesService.start();

  const ready = async () => {
    let etcdOk = false;
    try {
      await Promise.race([store.revision(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000))]);
      etcdOk = true;
    } catch {
      etcdOk = false;
    }
    const cachesOk = [...caches.values()].every((c) => c.ready);
    const checks: [string, boolean][] = [
      ['ping', true],
      ['etcd', etcdOk],
      ['informer-sync', cachesOk],
    ];
    return { ok: state === 'running' && etcdOk && cachesOk, checks };
  };
  const saTokens = opts.serviceAccount ? new ServiceAccountTokens(opts.serviceAccount.signingKey, opts.serviceAccount.issuer, rest) : undefined;
  const bootstrapTokens = opts.enableBootstrapTokenAuth ? async (t: string) => bootstrapTokenUser(t, await bootstrapTokenSecret(rest, t)) : undefined;
  const authn = tokenAuthenticator(opts.tokens, bootstrapTokens, saTokens);
  const handler = createHandler({
    rest,
    saTokens,
    kubeletClient: opts.kubeletClient,
    authn,
    serverAddress: `${opts.advertiseAddress}:${opts.securePort}`,
    ready,
    metrics: () => metrics.expose(),
    onRequest: (verb, resource, code, seconds) => metrics.onRequest(verb, resource, code, seconds),
    onWatchCount: (d) => metrics.onWatchCount('rest', d),
    version: VERSION,
    log,
  });
  // Around the handler, as kube-apiserver's filter chain: audit (every request, its Audit-Id), then
  // API Priority and Fairness (a seat of the request's priority level, or 429). The gRPC front below takes its
  // seats from the same FlowControl: one set of seats for the api-server, as kube-apiserver's.
  const flowControl = new FlowControl({ totalSeats: opts.flowControlSeats, waitLimitMs: 15_000, observer: metrics.flowControl });
  metrics.setNominalSeats(flowControl.seats);
  const audit = opts.audit ? AuditLog.open(opts.audit.logPath, opts.audit.policyFile, opts.audit) : undefined;
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const received = new Date();
    const info = requestInfo(req.method, req.url);
    const auditID = audit?.auditID(req, res);
    const user = await authenticateRequest(req, authn);
    if (audit && auditID) audit.begin(req, res, auditID, { received, info, user });
    flowControl.serve(res, user, info, () => void handler(req, res));
  };
  const server = https.createServer(
    { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
    (req, res) => void serve(req, res).catch((e: unknown) => sendStatus(res, e)),
  );
  // exec, attach and port-forward arrive as upgrades (WebSocket or SPDY), audited as kube-apiserver's.
  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (audit) {
      const arrival = { received: new Date(), info: requestInfo(req.method, req.url), user: await authenticateRequest(req, authn) };
      audit.beginUpgrade(req, socket, audit.auditID(req), arrival);
    }
    await handler.upgrade(req, socket, head);
  };
  server.on('upgrade', (req, socket, head) => void upgrade(req, socket, head).catch((e: unknown) => refuseUpgrade(socket, e)));
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.requestTimeout = 0; // watches are long
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.securePort, opts.bindAddress, () => resolve());
  });

  const grpcServer = new grpc.Server(GRPC_SERVER_OPTIONS);
  grpcServer.addService(
    ApiServerService,
    createGrpcService({ rest, saTokens, authn, ca: opts.tls.ca, flowControl, onWatchCount: (d) => metrics.onWatchCount('grpc', d), log, audit }),
  );
  // Client certificates are asked for but not required (kubelets present theirs, the other components a token).
  const creds = grpc.experimental.createCertificateProviderServerCredentials(staticCertificates(opts.tls), staticCertificates(opts.tls), false);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`${opts.bindAddress}:${opts.grpcPort}`, creds, (err, port) => (err ? reject(err) : resolve(port))),
  );

  // Compaction keeps etcd's history bounded, as kube-apiserver does every 5 minutes.
  let lastRev = 0;
  const compactor =
    opts.compactionSeconds > 0
      ? setInterval(() => {
          const compact = async () => {
            if (lastRev > 0) await store.compact(lastRev);
            lastRev = await store.revision();
          };
          compact().catch((e: unknown) => log.debug({ err: e }, 'compaction skipped'));
        }, opts.compactionSeconds * 1000)
      : undefined;
  compactor?.unref();

  state = 'running';
  const port = (server.address() as AddressInfo).port;
  log.info({ port, grpcPort, etcd: opts.etcdServers }, 'api-server running');
  return {
    get state() {
      return state;
    },
    port,
    grpcPort,
    async stop() {
      if (state === 'stopped' || state === 'stopping') return;
      state = 'stopping';
      clearInterval(compactor);
      await kubernetesService.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      // Watch streams never end by themselves: give unary calls a moment, then cut what is left.
      await Promise.race([new Promise<void>((r) => grpcServer.tryShutdown(() => r())), new Promise((r) => setTimeout(r, 1000))]);
      grpcServer.forceShutdown();
      await Promise.all([...caches.values()].map((c) => c.stop()));
      audit?.close();
      store.close();
      state = 'stopped';
    },
  };
}

/**
 * A grpc-js certificate provider that never changes: the serving certificate and the client CA. They are handed
 * over on the next tick, as a file-watching provider would: grpc-js registers the server's watcher only after it has
 * added its listeners, and a watcher added later is not told of what came before.
 */
function staticCertificates(tls: { cert: Buffer; key: Buffer; ca: Buffer }): grpc.experimental.CertificateProvider {
  return {
    addCaCertificateListener: (l) => setImmediate(() => l({ caCertificate: tls.ca })),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) => setImmediate(() => l({ certificate: tls.cert, privateKey: tls.key })),
    removeIdentityCertificateListener: () => undefined,
  };
}
