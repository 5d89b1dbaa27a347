/**
 * The UDP half of the userspace data path: one socket per Service port; each
 * client (address:port) gets a socket of its own towards the backend chosen for
 * it, and the backend's answers go back to the client from the Service socket (so
 * conntrack un-NATs them to the Service address). A client quiet for longer than
 * the idle timeout (kube-proxy's --udp-timeout, 250 ms by default) loses its
 * session; its next datagram is scheduled afresh.
 */
import dgram from 'node:dgram';
import type { DataPathCounters } from './tcp-proxy.js';
import { NO_COUNTERS } from './tcp-proxy.js';
import type { RealServer, VirtualService } from './virtual-service.js';

export const DEFAULT_UDP_IDLE_TIMEOUT_MS = 250;

interface Session {
  upstream: dgram.Socket;
  server: RealServer;
  lastActive: number;
}

export class UdpProxy {
  private readonly socket = dgram.createSocket('udp4');
  private readonly sessions = new Map<string, Session>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly vs: VirtualService,
    private readonly counters: DataPathCounters = NO_COUNTERS,
    private readonly idleTimeoutMs = DEFAULT_UDP_IDLE_TIMEOUT_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.socket.on('message', (msg, rinfo) => this.fromClient(msg, rinfo.address, rinfo.port));
    // A send error (an ICMP unreachable reported late) must not end the proxy.
    this.socket.on('error', () => undefined);
  }

  listen(port = 0, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(port, host, () => {
        this.socket.off('error', reject);
        resolve(this.socket.address().port);
      });
    });
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const key of [...this.sessions.keys()]) this.end(key);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private fromClient(msg: Buffer, address: string, port: number): void {
    const key = `${address}:${port}`;
    let s = this.sessions.get(key);
    if (!s) {
      const server = this.vs.acquire(address);
      if (!server) {
        this.counters.noBackend();
        return; // dropped, as IPVS drops what it cannot schedule
      }
      this.counters.connectionAccepted('UDP');
      const upstream = dgram.createSocket('udp4');
      upstream.on('error', () => this.end(key));
      upstream.on('message', (reply, from) => {
        const cur = this.sessions.get(key);
        if (!cur || from.address !== server.ip || from.port !== server.port) return;
        cur.lastActive = this.now();
        this.socket.send(reply, port, address);
      });
      s = { upstream, server, lastActive: this.now() };
      this.sessions.set(key, s);
      this.startSweeping();
    }
    s.lastActive = this.now();
    s.upstream.send(msg, s.server.port, s.server.ip);
  }

  private end(key: string): void {
    const s = this.sessions.get(key);
    if (!s) return;
    this.sessions.delete(key);
    this.vs.release(s.server);
    s.upstream.close();
  }

  /** Drop sessions idle for longer than the timeout (public for tests, which drive the clock). */
  sweep(): void {
    const limit = this.now() - this.idleTimeoutMs;
    for (const [key, s] of this.sessions) if (s.lastActive <= limit) this.end(key);
    if (this.sessions.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  // The timer runs only while there are sessions: an idle UDP Service costs no wake-ups.
  private startSweeping(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, this.idleTimeoutMs / 2));
    this.sweeper.unref();
  }
}
