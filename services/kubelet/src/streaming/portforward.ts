/**
 * Port-forward: each forwarded connection is a pair of streams, `error` and
 * `data`, with the same requestid and port (SPDY, natively or tunnelled in
 * a WebSocket as kubectl 1.32 does), or a pair of channels per port
 * (v4.channel.k8s.io with ?ports=, as client-node does: the first message
 * on each channel carries the port, two bytes little-endian). The kubelet
 * connects to the pod's address on that port and copies both ways.
 */
import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { KubeObject } from '@kemu/api';
import type { PodRuntime } from '../pod-runtime.js';
import type { SpdySession, SpdyStream } from './spdy.js';

export const PORT_FORWARD_PROTOCOLS = ['SPDY/3.1+portforward.k8s.io', 'v4.channel.k8s.io', 'portforward.k8s.io'];

export function portForwardSpdy(session: SpdySession, pod: KubeObject, rt: PodRuntime, log: Logger): void {
  const errors = new Map<string, SpdyStream>();
  const pending = new Map<string, string>();
  session.on('error', (e) => log.debug({ err: String(e) }, 'port-forward session error'));
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
    const sock = connect({ host: rt.ip, port });
    sock.on('connect', () => {
      s.pipe(sock);
      sock.pipe(s);
    });
    sock.on('error', (e) => {
      finish(id, `error forwarding port ${port} to pod ${pod.metadata.name}, uid ${pod.metadata.uid}: failed to connect to ${rt.ip}:${port}: ${e.message.replace(/^connect /, '')}`);
      s.end();
    });
    sock.on('close', () => {
      s.end();
      finish(id, '');
    });
  });
  const finish = (id: string, message: string) => {
    const e = errors.get(id);
    if (!e) return void pending.set(id, message);
    errors.delete(id);
    pending.delete(id);
    if (message) e.write(message);
    e.end();
  };
}

export function portForwardChannels(ws: WebSocket, ports: number[], rt: PodRuntime): void {
  const portBytes = (p: number) => Buffer.from([p & 0xff, p >> 8]);
  const send = (ch: number, d: Buffer) => ws.readyState === ws.OPEN && ws.send(Buffer.concat([Buffer.from([ch]), d]));
  const socks = ports.map((port, i) => {
    send(2 * i, portBytes(port));
    send(2 * i + 1, portBytes(port));
    const sock = connect({ host: rt.ip, port });
    sock.on('data', (d: Buffer) => send(2 * i, d));
    sock.on('error', (e) => send(2 * i + 1, Buffer.from(`error forwarding port ${port}: ${e.message}`)));
    sock.on('close', () => ws.readyState === ws.OPEN && ws.close(1000));
    return sock;
  });
  ws.on('message', (raw: Buffer) => {
    const ch = raw[0]!;
    if (ch % 2 === 0) socks[ch / 2]?.write(raw.subarray(1));
  });
  ws.on('close', () => socks.forEach((s) => s.destroy()));
}
