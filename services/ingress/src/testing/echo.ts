/**
 * What the nginx tests talk to: pods stood in for by HTTP servers on
 * loopback that answer with what they were asked (their name, the method,
 * the URI nginx passed on, the headers) and echo a WebSocket's bytes back
 * after the 101; and a client that asks nginx, with a Host header or an SNI
 * name of its choosing.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface Echo {
  name: string;
  url: string;
  method: string;
  headers: http.IncomingHttpHeaders;
}

export interface Backend {
  port: number;
  close(): Promise<void>;
}

export async function echoBackend(name: string): Promise<Backend> {
  const server = http.createServer((req, res) => {
    const body: Echo = { name, url: req.url ?? '', method: req.method ?? '', headers: req.headers };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  // Upgraded connections are no longer the server's: kept here to be closed with it.
  const tunnels = new Set<net.Socket>();
  server.on('upgrade', (_req, socket: net.Socket) => {
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      for (const t of tunnels) t.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A port nothing listens on (a dead pod). */
/**
 * A port free now, for a server that binds it later (nginx). Chosen below the kernel's ephemeral range (32768-60999):
 * a port the kernel handed out is free again once closed, and the next outgoing connection on a busy machine (a
 * cluster's processes) may take it before nginx binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const s = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise((r) => s.close(r));
      return port;
    }
  }
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The echo, when a backend answered. */
  echo?: Echo;
  /** The certificate's subject CN, over HTTPS. */
  cn?: string;
}

/** GET `path` from nginx at 127.0.0.1:`port` as `host` (over HTTPS with `host` as SNI when `tls`). */
export function get(port: number, host: string, path: string, o: { tls?: boolean; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path, headers: { Host: host, ...(o.headers ?? {}) }, agent: false as const };
    const done = (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        let echo: Echo | undefined;
        try {
          echo = (res.headers['content-type'] ?? '').includes('json') ? (JSON.parse(body) as Echo) : undefined;
        } catch {
          echo = undefined;
        }
        const cn = o.tls ? [(res.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN ?? []].flat().join(',') : undefined;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(echo ? { echo } : {}), ...(cn ? { cn } : {}) });
      });
    };
    const req = o.tls ? https.get({ ...options, servername: host.split(':')[0], rejectUnauthorized: false }, done) : http.get(options, done);
    req.on('error', reject);
  });
}

/** Open a WebSocket-style upgrade through nginx, send `text`, and return what came back after the 101. */
export function upgradeEcho(port: number, host: string, text: string): Promise<{ status: number; echoed: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/ws', headers: { Host: host, Connection: 'Upgrade', Upgrade: 'websocket' }, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.write(text);
      socket.once('data', (d: Buffer) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, echoed: d.toString() });
      });
    });
    req.on('response', (res) => resolve({ status: res.statusCode ?? 0, echoed: '' }));
    req.on('error', reject);
    req.end();
  });
}
