/**
 * Names outside the cluster go to the node's resolvers, read from a
 * resolv.conf as CoreDNS's `forward . /etc/resolv.conf` does: over UDP for UDP
 * clients (a truncated upstream reply is passed on, and the client comes back
 * over TCP), over TCP for TCP clients. Each upstream gets a short timeout, then
 * the next; when all fail the caller answers SERVFAIL.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Transport } from './responder.js';

export interface Upstream {
  host: string;
  port: number;
}

/** The `nameserver` lines of a resolv.conf. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = line.trim().match(/^nameserver\s+(\S+)/);
    // A zone index (fe80::1%eth0) is not something we can send to from here.
    if (m && !m[1].includes('%') && net.isIP(m[1]) && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

export interface SelfFacts {
  /** The port we serve DNS on. */
  port: number;
  /** The addresses we answer on (the machine's own when bound to a wildcard). */
  addresses: string[];
  /** Addresses that lead back to us another way: the kube-dns ClusterIP. */
  skip: string[];
}

const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1';

/**
 * The nameservers to forward to: all but those that are this server (which
 * would loop): our own addresses, loopback when we listen on the wildcard, and
 * the DNS Service's address. Pure.
 */
export function chooseUpstreams(nameservers: string[], self: SelfFacts): Upstream[] {
  return nameservers
    .filter((ip) => !self.skip.includes(ip))
    .filter((ip) => self.port !== 53 || !(self.addresses.includes(ip) || (isLoopback(ip) && self.addresses.some(isLoopback))))
    .map((host) => ({ host, port: 53 }));
}

/** The addresses a socket bound to `address` answers on. */
export function boundAddresses(address: string): string[] {
  if (address !== '0.0.0.0' && address !== '::') return [address];
  const out = ['127.0.0.1', '::1'];
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.push(i.address);
  return out;
}

interface Pending {
  resolve: (b: Buffer | undefined) => void;
  timer: NodeJS.Timeout;
  id: number;
  upstream: Upstream;
}

export class Forwarder {
  private sockets = new Map<4 | 6, dgram.Socket>();
  private pending = new Map<number, Pending>();
  private nextId = Math.floor(Math.random() * 65536);

  constructor(
    readonly upstreams: Upstream[],
    private timeoutMs = 2000,
  ) {}

  get enabled(): boolean {
    return this.upstreams.length > 0;
  }

  /** The upstream's reply to `msg` (with the client's ID), or undefined when none answered in time. */
  async query(msg: Buffer, transport: Transport): Promise<Buffer | undefined> {
    for (const u of this.upstreams) {
      const reply = transport === 'tcp' ? await this.tcp(u, msg) : await this.udp(u, msg);
      if (reply) return reply;
    }
    return undefined;
  }

  close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.pending.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  private socket(family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family);
    if (!s) {
      s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      s.on('message', (m, rinfo) => this.onReply(m, rinfo));
      s.on('error', () => undefined);
      s.unref();
      this.sockets.set(family, s);
    }
    return s;
  }

  private onReply(m: Buffer, rinfo: dgram.RemoteInfo): void {
    if (m.length < 12) return;
    const p = this.pending.get(m.readUInt16BE(0));
    // Only the upstream we asked may answer (a spoofed reply from elsewhere is ignored).
    if (!p || p.upstream.host !== rinfo.address || p.upstream.port !== rinfo.port) return;
    this.pending.delete(m.readUInt16BE(0));
    clearTimeout(p.timer);
    const out = Buffer.from(m);
    out.writeUInt16BE(p.id, 0);
    p.resolve(out);
  }

  private udp(u: Upstream, msg: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      let id = this.nextId;
      // Our own ID space: clients' IDs may collide; a busy one is skipped.
      for (let i = 0; i < 65536 && this.pending.has(id); i++) id = (id + 1) & 0xffff;
      if (this.pending.has(id)) return resolve(undefined);
      this.nextId = (id + 1) & 0xffff;
      const out = Buffer.from(msg);
      out.writeUInt16BE(id, 0);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, this.timeoutMs);
      this.pending.set(id, { resolve, timer, id: msg.readUInt16BE(0), upstream: u });
      this.socket(net.isIPv6(u.host) ? 6 : 4).send(out, u.port, u.host, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(undefined);
      });
    });
  }

  private tcp(u: Upstream, msg: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = net.connect({ host: u.host, port: u.port });
      let buf = Buffer.alloc(0);
      const done = (b: Buffer | undefined) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(b);
      };
      const timer = setTimeout(() => done(undefined), this.timeoutMs);
      sock.on('error', () => done(undefined));
      sock.on('close', () => done(undefined));
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(msg.length);
        sock.write(Buffer.concat([len, msg]));
      });
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
    });
  }
}
