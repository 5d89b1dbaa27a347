/**
 * What every cluster component shares around its work: a connection from
 * flags (api-server address, CA, token file), an HTTP endpoint with /healthz
 * and /metrics, and leader election that runs the work only while leading.
 */
import http from 'node:http';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ApiClient } from './api-client.js';
import { LeaderElector } from './leader-election.js';
import { Registry, Gauge, Counter } from './metrics.js';
import { runningQueues, type WorkQueue } from './workqueue.js';

export interface ComponentOptions {
  /** host:port of the api-server's gRPC listener. */
  apiserver: string;
  caFile: string;
  tokenFile: string;
  /** Health and metrics port (0 picks one). */
  port?: number;
  bindAddress?: string;
  leaderElect?: boolean;
  /** Lease name in kube-system. */
  leaseName: string;
  identity?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
}

export interface RunningComponent {
  client: ApiClient;
  metrics: Registry;
  port: number;
  identity: string;
  isLeader(): boolean;
  stop(): Promise<void>;
}

/**
 * Connect, serve /healthz and /metrics, and call `lead` whenever this
 * replica holds the lease (always, without leader election). Losing the
 * lease aborts the signal given to `lead`, and the component exits as
 * Kubernetes' components do (a supervisor restarts it as a candidate).
 */
export async function runComponent(o: ComponentOptions, lead: (client: ApiClient, signal: AbortSignal) => Promise<void>, onLost: () => void): Promise<RunningComponent> {
  const token = readFileSync(o.tokenFile, 'utf8').trim();
  const client = new ApiClient({ address: o.apiserver, ca: readFileSync(o.caFile), token });
  const identity = o.identity ?? `${hostname()}_${process.pid}`;
  const metrics = new Registry();
  let leading = false;
  metrics.register(new Gauge('leader_election_master_status', 'Whether this replica leads (1) or not (0).', () => [[{ name: o.leaseName }, leading ? 1 : 0]]));
  registerWorkqueueMetrics(metrics);
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz' || req.url === '/livez' || req.url === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(metrics.render());
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.bindAddress ?? '0.0.0.0', () => r()));
  const ac = new AbortController();
  let stopping = false;
  // Every controller and informer listens on the leadership signal.
  setMaxListeners(1000, ac.signal);
  let elector: LeaderElector | undefined;
  if (o.leaderElect === false) {
    leading = true;
    void lead(client, ac.signal);
  } else {
    elector = new LeaderElector(client, {
      name: o.leaseName,
      identity,
      leaseDurationSeconds: o.leaseDurationSeconds,
      renewDeadlineSeconds: o.renewDeadlineSeconds,
      retryPeriodSeconds: o.retryPeriodSeconds,
      onStartedLeading: (signal) => {
        leading = true;
        return lead(client, signal);
      },
      onStoppedLeading: () => {
        leading = false;
        // Stopping on purpose is not losing the election.
        if (!stopping) onLost();
      },
    });
    void elector.run();
  }
  return {
    client,
    metrics,
    identity,
    port: (server.address() as AddressInfo).port,
    isLeader: () => leading,
    async stop() {
      stopping = true;
      ac.abort();
      await elector?.stop();
      server.close();
      client.close();
    },
  };
}

/** client-go's workqueue metrics, per running queue: a stuck worker shows as a growing longest_running_processor. */
function registerWorkqueueMetrics(metrics: Registry): void {
  const each = (f: (q: WorkQueue) => number) => (): [Record<string, string>, number][] => [...runningQueues].map((q) => [{ name: q.name }, f(q)]);
  metrics.register(new Gauge('workqueue_depth', 'Current depth of workqueue', each((q) => q.length)));
  metrics.register(new Counter('workqueue_adds_total', 'Total number of adds handled by workqueue', each((q) => q.adds)));
  metrics.register(new Counter('workqueue_retries_total', 'Total number of retries handled by workqueue', each((q) => q.retries)));
  metrics.register(new Gauge('workqueue_unfinished_work_seconds', 'How many seconds of work has been done that is in progress', each((q) => q.processingSeconds().total)));
  metrics.register(new Gauge('workqueue_longest_running_processor_seconds', 'How many seconds has the longest running processor for workqueue been running', each((q) => q.processingSeconds().longest)));
}

/** The flags every component shares (commander-style builder, kept structural so this package needs no CLI library). */
export interface FlagBuilder<T> {
  requiredOption(flags: string, description: string): T;
  option(flags: string, description: string, defaultValue?: string): T;
}

export function componentFlags<T extends FlagBuilder<T>>(cmd: T, port: number): T {
  return cmd
    .requiredOption('--apiserver <host:port>', "the api-server's gRPC address")
    .requiredOption('--ca-file <file>', 'CA of the api-server certificate')
    .requiredOption('--token-file <file>', 'bearer token')
    .option('--port <port>', '/healthz and /metrics port', String(port));
}

/** Stop cleanly on SIGTERM/SIGINT (a leader gives its lease up), and log what would otherwise be lost. */
export function stopOnSignals(component: { stop(): Promise<void> }, log: { error(obj: object, msg: string): void }): void {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void component.stop().then(() => process.exit(0)));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  // A component never dies of one bad request or callback: it logs loudly and carries on.
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
}
