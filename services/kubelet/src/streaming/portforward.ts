/**
 * Port-forward: each forwarded connection is a pair of streams, `error` and
 * `data`, with the same requestid and port (SPDY, natively or tunnelled in
 * a WebSocket as kubectl 1.32 does), or a pair of channels per port
 * (v4.channel.k8s.io with ?ports=, as client-node does: the first message
 * on each channel carries the port, two bytes little-endian). Like the
 * kubelet's dockershim did, each connection is `socat` to localhost:port
 * inside the pod's network namespace (so servers bound to 127.0.0.1 are
 * reachable too), copied both ways.
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodSandbox } from '../pod-sandbox.js';
import type { SpdySession, SpdyStream } from './spdy.js';

export const PORT_FORWARD_PROTOCOLS = ['SPDY/3.1+portforward.k8s.io', 'v4.channel.k8s.io', 'portforward.k8s.io'];

export function portForwardSpdy(session: SpdySession, pod: Pod, sandbox: PodSandbox, log: Logger): void {
  const errors = new Map<string, SpdyStream>();
  const pending = new Map<string, string>();
  const finished = new Set<string>();
  session.on('error', (e) => log.debug({ err: e }, 'port-forward session error'));
  session.on('stream', (s: SpdyStream) => {
    s.on('error', () => undefined);
    s.reply();
    const id = s.headers.requestid ?? '';
    const port = Number(s.headers.port);
    if (s.headers.streamtype === 'error') {
      s.resume(); // the client sends nothing on it
      errors.set(id, s);
      const msg = pending.get(id);
      if (msg !== undefined) finish(id, msg);
      return;
    }
    if (s.headers.streamtype !== 'data') return s.reset();
    const sock = podConnection(sandbox, port);
    s.pipe(sock);
    sock.pipe(s);
    sock.on('error', (e) => {
      finish(
        id,
        `error forwarding port ${port} to pod ${pod.metadata?.uid}, uid : failed to execute portforward in network namespace "/run/netns/${sandbox.podNs}": ${e.message}`,
      );
      s.end();
    });
    sock.on('close', () => {
      s.end();
      finish(id, '');
    });
  });
  const finish = (id: string, message: string) => {
    if (finished.has(id)) return; // the first word (an error, or none) is the one that counts
    const e = errors.get(id);
    if (!e) return void pending.set(id, message);
    errors.delete(id);
    pending.delete(id);
    finished.add(id);
    if (message) e.write(message);
    e.end();
  };
}

export function portForwardChannels(ws: WebSocket, ports: number[], sandbox: PodSandbox): void {
  const portBytes = (p: number) => Buffer.from([p & 0xff, p >> 8]);
  const send = (ch: number, d: Buffer) => ws.readyState === ws.OPEN && ws.send(Buffer.concat([Buffer.from([ch]), d]));
  const socks = ports.map((port, i) => {
    send(2 * i, portBytes(port));
    send(2 * i + 1, portBytes(port));
    const sock = podConnection(sandbox, port);
    sock.on('data', (d: Buffer) => send(2 * i, d));
    sock.on('error', (e) => send(2 * i + 1, Buffer.from(`error forwarding port ${port}: ${e.message}`)));
    sock.on('close', () => ws.readyState === ws.OPEN && ws.close(1000));
    return sock;
  });
  ws.on('message', (raw: Buffer) => {
    const ch = raw[0];
    if (ch % 2 === 0) socks[ch / 2]?.write(raw.subarray(1));
  });
  ws.on('close', () => socks.forEach((s) => s.destroy()));
}

/**
 * A connection to localhost:port in the pod's network namespace: socat's
 * stdio as a duplex stream. It fails (an 'error' with socat's reason) when
 * nothing listens there.
 */
export function podConnection(sandbox: PodSandbox, port: number): Duplex {
  const p = spawn('nsenter', [`--net=/run/netns/${sandbox.podNs}`, 'socat', '-', `TCP4:127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const d = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      if (p.stdin.writable) p.stdin.write(chunk, () => cb());
      else cb();
    },
    final(cb) {
      p.stdin.end();
      cb();
    },
    destroy(e, cb) {
      p.kill('SIGKILL');
      cb(e);
    },
  });
  p.stdin.on('error', () => undefined);
  p.stdout.on('data', (c: Buffer) => d.push(c));
  p.stdout.on('end', () => d.push(null));
  p.on('error', (e) => d.destroy(e));
  p.on('close', (code) => {
    const why = /Connection refused|No route|timed out/.exec(err)?.[0];
    if (code !== 0 && why)
      d.destroy(
        new Error(
          `failed to connect to localhost:${port} inside namespace "${sandbox.podNs}", IPv4: dial tcp4 127.0.0.1:${port}: connect: ${why.toLowerCase()}`,
        ),
      );
    else d.destroy();
  });
  return d;
}
