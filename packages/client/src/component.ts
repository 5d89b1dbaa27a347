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
import { parseDuration } from '@kemu/api';
import { ApiClient } from './api-client.js';
import { LeaderElector } from './leader-election.js';
import { waitForListener } from './listener.js';
import { exposition, newMetricsRegistry, prom, registerWorkqueueMetrics, type MetricsRegistry } from './metrics.js';

export interface ComponentOptions {
  /** host:port of the api-server's gRPC listener. */
  apiserver: string;
  caFile: string;
  /** A bearer token's file; or, instead, */
  tokenFile?: string;
  /** a client certificate and its key (a kubelet's, from TLS bootstrapping). */
  clientCert?: { cert: string; key: string };
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
  /** Said once when the api-server has not answered for a while at start (waitForListener). */
  onWaiting?: () => void;
}

export interface RunningComponent {
  client: ApiClient;
  /** Served at /metrics: register a component's own metrics here (`new prom.Counter({ ..., registers: [metrics] })`). */
  metrics: MetricsRegistry;
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
export async function runComponent(
  o: ComponentOptions,
  lead: (client: ApiClient, signal: AbortSignal) => Promise<void>,
  onLost: () => void,
): Promise<RunningComponent> {
  if (!o.clientCert && !o.tokenFile) throw new Error('a token file or a client certificate is needed to reach the api-server');
  const client = new ApiClient({
    address: o.apiserver,
    ca: readFileSync(o.caFile),
    ...(o.clientCert ? { clientCert: o.clientCert } : { token: readFileSync(o.tokenFile!, 'utf8').trim() }),
  });
  const identity = o.identity ?? `${hostname()}_${process.pid}`;
  const metrics = newMetricsRegistry();
  let leading = false;
  new prom.Gauge({
    name: 'leader_election_master_status',
    help: 'Whether this replica leads (1) or not (0).',
    labelNames: ['name'],
    registers: [metrics],
    collect() {
      this.set({ name: o.leaseName }, leading ? 1 : 0);
    },
  });
  registerWorkqueueMetrics(metrics);
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz' || req.url === '/livez' || req.url === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    } else if (req.url === '/metrics') {
      exposition(metrics).then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'Content-Type': contentType });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(err instanceof Error ? err.message : 'metrics collection failed');
        },
      );
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.bindAddress ?? '0.0.0.0', () => r()));
  await waitForListener(o.apiserver, { onWaiting: o.onWaiting });
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

/** The flags every component shares (commander-style builder, kept structural so this package needs no CLI library). */
export interface FlagBuilder<T> {
  requiredOption(flags: string, description: string): T;
  option(flags: string, description: string, defaultValue?: string): T;
}

/** The values of the flags `componentFlags` adds, as commander's `opts()` returns them. */
export interface ComponentFlagValues {
  apiserver: string;
  caFile: string;
  tokenFile?: string;
  port: string;
}

export function componentFlags<T extends FlagBuilder<T>>(cmd: T, port: number): T {
  return cmd
    .requiredOption('--apiserver <host:port>', "the api-server's gRPC address")
    .requiredOption('--ca-file <file>', 'CA of the api-server certificate')
    .option('--token-file <file>', 'bearer token (a kubelet may have a client certificate instead)')
    .option('--port <port>', '/healthz and /metrics port', String(port));
}

/** The values of the flags `leaderElectFlags` adds. */
export interface LeaderElectFlagValues {
  leaderElect: string;
  leaderElectLeaseDuration: string;
  leaderElectRenewDeadline: string;
  leaderElectRetryPeriod: string;
}

/** kube-scheduler's and kube-controller-manager's leader election flags, with their defaults (15s, 10s, 2s). */
export function leaderElectFlags<T extends FlagBuilder<T>>(cmd: T): T {
  return cmd
    .option('--leader-elect <bool>', 'elect a leader through a Lease', 'true')
    .option('--leader-elect-lease-duration <duration>', 'how long a standby waits after the last renewal before it takes the lease', '15s')
    .option('--leader-elect-renew-deadline <duration>', 'how long the leader keeps trying to renew before it gives up leading', '10s')
    .option('--leader-elect-retry-period <duration>', 'between tries to take or renew the lease', '2s');
}

/** The leader election options those flags give (durations in seconds, as the elector takes them). */
export function leaderElectOptions(
  v: LeaderElectFlagValues,
): Pick<ComponentOptions, 'leaderElect' | 'leaseDurationSeconds' | 'renewDeadlineSeconds' | 'retryPeriodSeconds'> {
  return {
    leaderElect: v.leaderElect !== 'false',
    leaseDurationSeconds: parseDuration(v.leaderElectLeaseDuration) / 1000,
    renewDeadlineSeconds: parseDuration(v.leaderElectRenewDeadline) / 1000,
    retryPeriodSeconds: parseDuration(v.leaderElectRetryPeriod) / 1000,
  };
}

export { stopOnSignals } from './signals.js';
