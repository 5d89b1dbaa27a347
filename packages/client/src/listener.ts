/**
 * Waiting for a server's listener, as kube-controller-manager waits for its api-server's /healthz before it starts
 * (WaitForAPIServer) and a kubelet keeps trying the api-server it was started before: under `kemu up` the
 * components start while the api-server is still starting (at the lowest CPU priority, so that loading their
 * programs takes only the CPU the control plane leaves idle), and each waits here before its first request,
 * instead of failing it and sitting out a client's back-off (an informer's first wait is 0.8-1.6 s). The
 * api-server binds its gRPC listener last, once its caches are filled, so a connection accepted means it serves.
 */
import { connect } from 'node:net';
import { sleep } from './clock.js';

/** host and port of `host:port` or `[v6]:port`. Pure. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`${address}: not host:port`);
  return { host: m[1], port: Number(m[2]) };
}

/** Whether a TCP connection to host:port is accepted within `timeoutMs`. */
function accepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('timeout', () => done(false));
    s.once('error', () => done(false));
  });
}

export interface ListenerWait {
  signal?: AbortSignal;
  /** Between two tries (default 100 ms: a refused connection costs next to nothing). */
  intervalMs?: number;
  /** Called once when the listener has not answered for `sayAfterMs` (default 5 s), for a log line. */
  onWaiting?: () => void;
  sayAfterMs?: number;
}

/**
 * Resolve once `address` (host:port) accepts a connection; reject only when `signal` aborts. An address that is not
 * host:port (a gRPC target such as dns:///name:port) is not waited for: the client's own retries are left to it.
 */
export async function waitForListener(address: string, o: ListenerWait = {}): Promise<void> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = splitHostPort(address));
  } catch {
    return;
  }
  const start = Date.now();
  let said = false;
  while (!(await accepts(host, port, 1000))) {
    o.signal?.throwIfAborted();
    if (!said && Date.now() - start >= (o.sayAfterMs ?? 5000)) {
      said = true;
      o.onWaiting?.();
    }
    await sleep(o.intervalMs ?? 100, o.signal);
  }
}

/**
 * A component's start: `start` (its informers) once its api-server's listener answers, then `started` (its first
 * sync); after `cancel()` — the component stopped while it waited — neither runs. A failing `start` ends the process
 * (an unhandled rejection), as it did when it ran at once.
 */
export function startWhenListening(address: string, start: () => Promise<void>, started: () => void, onWaiting?: () => void): { cancel(): void } {
  const ac = new AbortController();
  void waitForListener(address, { signal: ac.signal, onWaiting })
    .then(() => (ac.signal.aborted ? false : start().then(() => !ac.signal.aborted)))
    .then((go) => {
      if (go) started();
    })
    .catch((e: unknown) => {
      if (!ac.signal.aborted) throw e;
    });
  return { cancel: () => ac.abort() };
}
