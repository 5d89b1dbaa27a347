/**
 * The DNS server around an index: UDP and TCP on one port, forwarding of
 * names outside the cluster, and the HTTP endpoints of CoreDNS's health
 * (/health, 8080), ready (/ready, 8181) and prometheus (/metrics, 9153) plugins.
 */
import dgram from 'node:dgram';
import dns, { type LookupOneOptions } from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { exposition } from '@kemu/client/rest';
import dnsPacket from 'dns-packet';
import type { Logger } from 'pino';
import type { DnsIndex } from './core/dns-index.js';
import { Forwarder } from './forward.js';
import { DnsMetrics } from './metrics.js';
import { Responder, encodeReply, errorReply, sizeLimit, truncate, type Outcome, type Transport } from './responder.js';

export interface ServerOptions {
  /** DNS listen address, UDP and TCP. Default 0.0.0.0. */
  address?: string;
  /** DNS port, UDP and TCP. Default 53; 0 picks one free for both. */
  port?: number;
  /** Address of the HTTP endpoints. Default 0.0.0.0. */
  httpAddress?: string;
  /** /health (and /healthz): default 8080; 0 picks one. */
  healthPort?: number;
  /** /ready, 200 once the informers have synced: default 8181; 0 picks one. */
  readyPort?: number;
  /** /metrics: default 9153; 0 picks one. */
  metricsPort?: number;
  /** Whether the index is complete (the informers synced). Default: always. */
  synced?: () => boolean;
  /** Where names outside the cluster go; none: SERVFAIL at once. */
  forwarder?: Forwarder;
  log?: Logger;
}

export interface RunningServer {
  /** The DNS port (UDP and TCP). */
  port: number;
  healthPort: number;
  readyPort: number;
  metricsPort: number;
  metrics: DnsMetrics;
  stop(): Promise<void>;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const rcodeOf = (reply: Buffer) => RCODES[reply[3] & 0xf] ?? String(reply[3] & 0xf);

function listenHttp(port: number, address: string, handler: http.RequestListener): Promise<http.Server> {
  const s = http.createServer(handler);
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, address, () => resolve(s));
  });
}

/**
 * dgram looks up the address of every datagram it sends (for an IP literal: a check and a deferral to the next tick).
 * A reply goes to the address a query came from, always an IP: it is sent at once.
 */
function addressAsIs(host: string, family: LookupOneOptions | number, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const fam = net.isIP(host);
  if (fam) return cb(null, host, fam);
  dns.lookup(host, typeof family === 'number' ? { family } : family, cb);
}

/** A UDP socket and a TCP server on the same port (with port 0, a few tries at one free for both). */
async function bindDns(address: string, port: number): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  const type = net.isIPv6(address) ? 'udp6' : 'udp4';
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket({ type, lookup: addressAsIs });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, address, () => resolve());
    });
    const bound = udp.address().port;
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(bound, address, () => resolve());
      });
      return { udp, tcp, port: bound };
    } catch (e) {
      udp.close();
      if (port !== 0 || attempt >= 10) throw e;
    }
  }
}

export async function startServer(index: DnsIndex, o: ServerOptions = {}): Promise<RunningServer> {
  const address = o.address ?? '0.0.0.0';
  const httpAddress = o.httpAddress ?? '0.0.0.0';
  const synced = o.synced ?? (() => true);
  const responder = new Responder(index, { synced });
  const forwarder = o.forwarder;
  const { udp, tcp, port } = await bindDns(address, o.port ?? 53);
  const metrics = new DnsMetrics(`dns://:${port}`);
  const zone = `${index.options.zone}.`;

  /** One message in; `send` the reply, if any. */
  const serve = (msg: Buffer, transport: Transport, family: 4 | 6, send: (b: Buffer) => void): void => {
    const started = performance.now();
    const out: Outcome = responder.handle(msg, transport);
    if (out.kind === 'drop') return;
    // The common case first, without the closures the others need.
    if (out.kind === 'reply') {
      send(out.bytes);
      const plugin = out.rcode === 'NOERROR' || out.rcode === 'NXDOMAIN' ? 'kubernetes' : '';
      metrics.observe({ zone, transport, family, qtype: out.qtype, rcode: out.rcode, plugin, seconds: (performance.now() - started) / 1000 });
      return;
    }
    const done = (bytes: Buffer, qtype: string, z: string, plugin: string) => {
      send(bytes);
      metrics.observe({ zone: z, transport, family, qtype, rcode: rcodeOf(bytes), plugin, seconds: (performance.now() - started) / 1000 });
    };
    if (out.kind === 'forward') {
      if (!forwarder?.enabled) return done(errorReply(out.query, 'SERVFAIL'), out.qtype, '.', '');
      void forwarder.query(msg, transport).then((reply) => {
        if (!reply) return done(errorReply(out.query, 'SERVFAIL'), out.qtype, '.', 'forward');
        done(reply.length > sizeLimit(out.query, transport) ? truncate(out.query, reply) : reply, out.qtype, '.', 'forward');
      });
      return;
    }
    // An ExternalName pointing outside: the CNAME, and the target's records if upstream gives them.
    const finish = (extra: dnsPacket.Answer[]) => {
      try {
        const bytes = encodeReply(out.query, { ...out.reply, answers: [...out.reply.answers, ...extra] });
        done(bytes.length > sizeLimit(out.query, transport) ? truncate(out.query, bytes) : bytes, out.qtype, zone, 'kubernetes');
      } catch (err) {
        o.log?.warn({ err }, 'encoding a reply failed');
      }
    };
    if (!forwarder?.enabled || !out.reply.chase) return finish([]);
    const ask = dnsPacket.encode({
      type: 'query',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: out.reply.chase, type: out.qtype === 'AAAA' ? 'AAAA' : 'A', class: 'IN' }],
    });
    void forwarder.query(ask, transport).then((reply) => {
      let extra: dnsPacket.Answer[] = [];
      try {
        if (reply) extra = dnsPacket.decode(reply).answers ?? [];
      } catch {
        extra = [];
      }
      finish(extra);
    });
  };

  udp.on('message', (msg, rinfo) => serve(msg, 'udp', rinfo.family === 'IPv6' ? 6 : 4, (b) => udp.send(b, rinfo.port, rinfo.address)));
  udp.on('error', (err) => o.log?.warn({ err }, 'udp socket error'));
  const conns = new Set<net.Socket>();
  tcp.on('connection', (sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    // A client that sends nothing for 10 s is let go (as CoreDNS's TCP read timeout).
    sock.setTimeout(10_000, () => sock.destroy());
    let buf = Buffer.alloc(0);
    const family = sock.remoteFamily === 'IPv6' ? 6 : 4;
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      // Several framed messages may come in one segment, or one across several (RFC 7766).
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        serve(msg, 'tcp', family, (b) => {
          if (sock.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(b.length);
          sock.write(Buffer.concat([len, b]));
        });
      }
    });
  });

  const text = (res: http.ServerResponse, code: number, body: string) => {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(body);
  };
  const health = await listenHttp(o.healthPort ?? 8080, httpAddress, (req, res) =>
    req.url === '/health' || req.url === '/healthz' ? text(res, 200, 'OK') : text(res, 404, 'not found'),
  );
  const ready = await listenHttp(o.readyPort ?? 8181, httpAddress, (req, res) => {
    if (req.url !== '/ready') return text(res, 404, 'not found');
    // CoreDNS's ready plugin names the plugins not ready yet.
    return synced() ? text(res, 200, 'OK') : text(res, 503, 'kubernetes');
  });
  const prom = await listenHttp(o.metricsPort ?? 9153, httpAddress, (req, res) => {
    if (req.url !== '/metrics') return text(res, 404, 'not found');
    exposition(metrics.registry).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType });
        res.end(body);
      },
      (err: unknown) => text(res, 500, err instanceof Error ? err.message : 'metrics collection failed'),
    );
  });
  const portOf = (s: http.Server) => (s.address() as AddressInfo).port;

  return {
    port,
    healthPort: portOf(health),
    readyPort: portOf(ready),
    metricsPort: portOf(prom),
    metrics,
    async stop() {
      forwarder?.close();
      udp.close();
      for (const c of conns) c.destroy();
      await Promise.all([tcp, health, ready, prom].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
