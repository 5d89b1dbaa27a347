/**
 * The TCP half of the userspace data path: a listener per Service port; each
 * accepted connection is joined to a backend chosen by the port's VirtualService,
 * and the bytes are piped both ways by Node's streams (no per-chunk work of ours,
 * no log line per connection: this is the hot path).
 *
 * A dial that fails (refused, unreachable, or no answer within the timeout) moves
 * on to another endpoint, with the old proxier's growing dial timeouts:
 * 250 ms, 500 ms, 1 s, 2 s. When every try failed the client gets a reset.
 *
 * The backend sees the connection coming from the node (historic behaviour of
 * this mode: the client's source IP is not preserved).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { RealServer, VirtualService } from './virtual-service.js';

/** The old proxier's EndpointDialTimeouts: one try per entry, each on the next endpoint. */
export const DIAL_TIMEOUTS_MS: readonly number[] = [250, 500, 1000, 2000];

/** What the data path reports (metrics), without knowing about the registry. */
export interface DataPathCounters {
  connectionAccepted(protocol: 'TCP' | 'UDP'): void;
  dialFailed(): void;
  noBackend(): void;
}

export const NO_COUNTERS: DataPathCounters = { connectionAccepted: () => undefined, dialFailed: () => undefined, noBackend: () => undefined };

/** "::ffff:10.0.0.1" (a dual-stack socket's view of an IPv4 peer) → "10.0.0.1". */
export function plainIPv4(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

export class TcpProxy {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();

  constructor(
    private readonly vs: VirtualService,
    private readonly counters: DataPathCounters = NO_COUNTERS,
  ) {
    // allowHalfOpen: a client that shuts down its sending side (HTTP/1.0, `nc -N`) still gets the whole answer.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => this.accept(client));
  }

  /** Listen on `host:port` (port 0: the kernel picks one); resolves to the port. */
  listen(port = 0, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, backlog: 1024 }, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stop accepting. Connections in flight continue unless `closeConnections`. */
  close(closeConnections = false): Promise<void> {
    if (closeConnections) for (const s of this.open) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.counters.connectionAccepted('TCP');
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    // Until a backend answers, a client error only needs the socket gone.
    const early = (): void => {
      client.destroy();
    };
    client.on('error', early);
    this.dial(client, plainIPv4(client.remoteAddress), 0, new Set(), early);
  }

  private dial(client: net.Socket, clientIP: string, attempt: number, tried: Set<string>, early: () => void): void {
    if (client.destroyed) return;
    const server = this.vs.acquire(clientIP, tried);
    if (!server) {
      // Endpoints went away between the rule and this connection: refuse it the way the kernel would.
      this.counters.noBackend();
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: server.ip, port: server.port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => upstream.destroy(new Error('dial timeout')), DIAL_TIMEOUTS_MS[attempt]);
    const clientGone = (): void => {
      upstream.destroy();
    };
    client.once('close', clientGone);
    const failed = (): void => {
      clearTimeout(timer);
      client.off('close', clientGone);
      this.vs.release(server);
      this.counters.dialFailed();
      tried.add(server.id);
      if (attempt + 1 < DIAL_TIMEOUTS_MS.length) this.dial(client, clientIP, attempt + 1, tried, early);
      else client.resetAndDestroy();
    };
    upstream.once('error', failed);
    upstream.once('connect', () => {
      clearTimeout(timer);
      upstream.off('error', failed);
      client.off('close', clientGone);
      client.off('error', early);
      this.join(client, upstream, server);
    });
  }

  private join(client: net.Socket, upstream: net.Socket, server: RealServer): void {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.vs.release(server);
    };
    // An error (a reset) on one side resets the other.
    const failed = (): void => {
      release();
      client.destroy();
      upstream.destroy();
    };
    // A side that closed cleanly: the other flushes what it still holds, sends its FIN and goes
    // (pipe alone would leave it open when its peer never closes).
    const closed = (other: net.Socket) => (): void => {
      release();
      if (!other.destroyed) other.end(() => other.destroy());
    };
    client.on('error', failed);
    upstream.on('error', failed);
    client.once('close', closed(upstream));
    upstream.once('close', closed(client));
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
