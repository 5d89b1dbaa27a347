/**
 * Probes and lifecycle hooks: httpGet, tcpSocket and exec handlers, and the
 * timing of startup, liveness and readiness probes (initialDelaySeconds,
 * periodSeconds, timeoutSeconds, successThreshold, failureThreshold) as the
 * kubelet's prober runs them. Readiness waits for startup; so does liveness.
 */
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Container as ContainerSpec, ContainerPort, LifecycleHandler, Probe } from 'kubernetes-types/core/v1.js';

/** What probes and lifecycle hooks share: one of these actions. */
export type Handler = Pick<Probe, 'exec' | 'httpGet' | 'tcpSocket' | 'grpc'> & Pick<LifecycleHandler, 'sleep'>;

export interface ProbeContext {
  podIP: string;
  /** The container's ports, to resolve named ports. */
  ports: ContainerPort[];
  exec(argv: string[], timeoutMs: number): Promise<{ code: number; output: string; timedOut: boolean }>;
  /**
   * Resolves once the container's program listens on `port` (or gives up waiting): a probe's first run waits for it.
   * A real runtime reports a container running after its entrypoint has started, and a real CoreDNS or nginx listens
   * within milliseconds; kemu's runtime reports it as soon as the process is spawned, and a program of Node takes up
   * to a second to listen, so without this the first probe fails with connection refused and readiness waits a whole
   * period (listen-gate.ts does the same for containers without a readiness probe).
   */
  listening?(port: number): Promise<unknown>;
}

/** The pod's own port a probe calls (httpGet, tcpSocket, grpc without another host), if any. Pure. */
export function probedPort(p: Probe, ports: ContainerPort[]): number | undefined {
  const port = p.httpGet && !p.httpGet.host ? p.httpGet.port : p.tcpSocket && !p.tcpSocket.host ? p.tcpSocket.port : p.grpc?.port;
  const n = port === undefined ? 0 : portOf(port, ports);
  return n > 0 ? n : undefined;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

function portOf(port: number | string | undefined, ports: ContainerPort[]): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(String(port))) return Number(port);
  return Number(ports.find((p) => p.name === port)?.containerPort ?? 0);
}

/** One run of a handler (probe or hook). */
export function runHandler(h: Handler, ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult> {
  if (h.exec) {
    return ctx
      .exec(h.exec.command ?? [], timeoutMs)
      .then((r) =>
        r.timedOut
          ? { ok: false, message: `command timed out` }
          : { ok: r.code === 0, message: r.code === 0 ? '' : r.output || `command terminated with exit code ${r.code}` },
      );
  }
  if (h.httpGet) {
    const g = h.httpGet;
    const https = String(g.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
    const host = g.host || ctx.podIP;
    const port = portOf(g.port, ctx.ports);
    const path = g.path ?? '/';
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
    for (const x of g.httpHeaders ?? []) headers[x.name] = x.value;
    return new Promise((resolve) => {
      const req = (https ? httpsRequest : httpRequest)({ host, port, path, headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
      });
      req.on('timeout', () => {
        req.destroy();
        resolve({
          ok: false,
          message: `Get "${https ? 'https' : 'http'}://${host}:${port}${path}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
        });
      });
      req.on('error', (e) =>
        resolve({
          ok: false,
          message: `Get "${https ? 'https' : 'http'}://${host}:${port}${path}": ${e.message.replace(/^connect /, 'dial tcp ').replace('ECONNREFUSED', 'connect: connection refused')}`,
        }),
      );
      req.end();
    });
  }
  const socket = h.tcpSocket ?? h.grpc;
  if (socket) {
    const port = portOf(socket.port, ctx.ports);
    const host = h.tcpSocket?.host || ctx.podIP;
    return new Promise((resolve) => {
      const s = connect({ host, port, timeout: timeoutMs });
      s.on('connect', () => {
        s.destroy();
        resolve({ ok: true, message: '' });
      });
      s.on('timeout', () => {
        s.destroy();
        resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
      });
      s.on('error', () => resolve({ ok: false, message: `dial tcp ${host}:${port}: connect: connection refused` }));
    });
  }
  const sleep = h.sleep;
  if (sleep) return new Promise((r) => setTimeout(() => r({ ok: true, message: '' }), Number(sleep.seconds ?? 0) * 1000));
  return Promise.resolve({ ok: true, message: '' });
}

export type ProbeKind = 'startup' | 'liveness' | 'readiness';

export interface ProbeEvents {
  /** Readiness or startup changed; ask for a status update. */
  changed(): void;
  /** A probe failed (each failure, for the Unhealthy event). */
  failed(kind: ProbeKind, message: string): void;
  /** Liveness or startup gave up: restart the container. */
  kill(kind: ProbeKind): void;
}

/**
 * Whether working out a pod's status should run a container's readiness probe at once, as the kubelet's prober
 * manager does in UpdatePodStatus: a running container past its startup probe whose readiness is not (yet) a
 * success, and that has a readiness probe to run. Without it a probe that failed because the process was still
 * starting is asked again only a whole periodSeconds later. Pure.
 */
export function wantsReadinessRun(
  spec: Pick<ContainerSpec, 'readinessProbe'>,
  running: boolean,
  probes: { started: boolean; ready: boolean } | undefined,
): boolean {
  return running && spec.readinessProbe !== undefined && probes !== undefined && probes.started && !probes.ready;
}

/** The probes of one running container. */
export class ContainerProbes {
  started: boolean;
  ready: boolean;
  private timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  /** Runs the readiness probe now (set while its loop runs; see runReadinessNow). */
  private readinessNow?: () => void;

  constructor(
    private c: ContainerSpec,
    private ctx: ProbeContext,
    private ev: ProbeEvents,
  ) {
    this.started = !c.startupProbe;
    this.ready = !c.readinessProbe && this.started;
    if (c.startupProbe) this.loop('startup', c.startupProbe);
    else this.afterStartup();
  }

  private afterStartup(): void {
    if (this.c.livenessProbe) this.loop('liveness', this.c.livenessProbe);
    if (this.c.readinessProbe) this.loop('readiness', this.c.readinessProbe);
    else if (!this.ready) {
      this.ready = true;
      this.ev.changed();
    }
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private cancel(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  /**
   * Run the readiness probe now instead of at its next period (the prober worker's manual trigger). Like the
   * worker's one-slot channel: during a run it asks for one more run right after; before the startup probe has
   * passed or within initialDelaySeconds it does nothing, as the worker skips the probe then.
   */
  runReadinessNow(): void {
    this.readinessNow?.();
  }

  private loop(kind: ProbeKind, p: Probe): void {
    const period = Number(p.periodSeconds ?? 10) * 1000;
    const timeout = Number(p.timeoutSeconds ?? 1) * 1000;
    const successNeeded = kind === 'readiness' ? Number(p.successThreshold ?? 1) : 1;
    const failuresAllowed = Number(p.failureThreshold ?? 3);
    let successes = 0;
    let failures = 0;
    let next: NodeJS.Timeout | undefined;
    let running = false;
    let again = false;
    const tick = async () => {
      next = undefined;
      running = true;
      const r = await runHandler(p, this.ctx, timeout);
      running = false;
      if (this.stopped) return;
      if (r.ok) {
        failures = 0;
        successes++;
        if (successes >= successNeeded) {
          if (kind === 'startup') {
            this.started = true;
            this.ev.changed();
            return this.afterStartup(); // the startup probe is done for this container's life
          }
          if (kind === 'readiness' && !this.ready) {
            this.ready = true;
            this.ev.changed();
          }
        }
      } else {
        successes = 0;
        failures++;
        this.ev.failed(kind, r.message);
        if (failures >= failuresAllowed) {
          if (kind === 'readiness' && this.ready) {
            this.ready = false;
            this.ev.changed();
          }
          if (kind !== 'readiness') return this.ev.kill(kind);
        }
      }
      next = this.later(again ? 0 : period, () => void tick());
      again = false;
    };
    this.later(Number(p.initialDelaySeconds ?? 0) * 1000, () => {
      if (kind === 'readiness')
        this.readinessNow = () => {
          if (running) again = true;
          else if (next) {
            this.cancel(next);
            void tick();
          }
        };
      const port = probedPort(p, this.ctx.ports);
      const first = port && this.ctx.listening ? this.ctx.listening(port) : Promise.resolve();
      void first.then(() => {
        if (!this.stopped) void tick();
      });
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
