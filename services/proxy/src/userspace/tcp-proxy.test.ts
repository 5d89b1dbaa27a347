import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointInfo } from '../model/types.js';
import { TcpProxy } from './tcp-proxy.js';
import { VirtualService } from './virtual-service.js';
import type { SchedulerName } from './schedulers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A backend that reads the whole request, then answers "name:request" and closes. */
async function backend(name: string): Promise<{ port: number; open: () => number }> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer({ allowHalfOpen: true }, (c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    const parts: Buffer[] = [];
    c.on('data', (d: Buffer) => parts.push(d));
    c.on('end', () => c.end(`${name}:${Buffer.concat(parts).toString()}`));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const c of sockets) c.destroy();
        s.close(() => r());
      }),
  );
  return { port: (s.address() as AddressInfo).port, open: () => sockets.size };
}

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Poll until `cond` holds; fails after a deadline generous enough for a loaded machine. */
async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ep = (port: number): EndpointInfo => ({ ip: '127.0.0.1', port, ready: true, serving: true, terminating: false });

/** A TCP proxy listening on a free port for a Service whose endpoints are these local ports. */
async function serve(scheduler: SchedulerName, ports: number[], affinitySeconds?: number): Promise<number> {
  const vs = new VirtualService(scheduler, '10.96.0.20', affinitySeconds);
  vs.update(ports.map(ep), '10.96.0.20', affinitySeconds);
  const p = new TcpProxy(vs);
  const port = await p.listen(0, '127.0.0.1');
  cleanups.push(() => p.close(true));
  return port;
}

/** Send `body`, half-close, read everything until the proxy closes. */
function call(port: number, body = 'hi'): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const parts: Buffer[] = [];
    c.on('data', (d: Buffer) => parts.push(d));
    c.on('error', reject);
    c.on('end', () => resolve(Buffer.concat(parts).toString()));
    c.end(body);
  });
}

describe('TcpProxy', () => {
  it('round robin alternates the backends and carries a request after the client half-closed', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const port = await serve('rr', [a.port, b.port]);
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push(await call(port));
    expect(answers).toEqual(['a:hi', 'b:hi', 'a:hi', 'b:hi']);
  });

  it('copies a large body both ways intact', async () => {
    const a = await backend('a');
    const port = await serve('rr', [a.port]);
    const big = 'x'.repeat(4 * 1024 * 1024);
    expect(await call(port, big)).toBe(`a:${big}`);
  });

  it('a refused dial moves on to the next endpoint', async () => {
    const dead = await deadPort();
    const b = await backend('b');
    const port = await serve(
      'rr',
      [dead, b.port].sort((x, y) => x - y),
    );
    for (let i = 0; i < 3; i++) expect(await call(port)).toBe('b:hi');
  });

  it('with ClientIP affinity one client keeps its backend', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const port = await serve('rr', [a.port, b.port], 10800);
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add(await call(port));
    expect(answers.size).toBe(1);
  });

  it('refuses a connection at once when the port has no endpoint', async () => {
    const port = await serve('rr', []);
    await expect(call(port)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('counts a connection as active while it lasts (lc sends the next one elsewhere)', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const port = await serve('lc', [a.port, b.port]);
    // An open connection to a: the next ones go to b while it lasts, to a again once it closed.
    const held = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((r) => held.on('connect', () => r()));
    await until('the held connection at a', () => a.open() === 1);
    expect(await call(port)).toBe('b:hi');
    held.destroy();
    await until('the held connection gone from a', () => a.open() === 0);
    expect(await call(port)).toBe('a:hi');
  });
});
