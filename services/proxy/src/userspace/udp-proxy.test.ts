import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointInfo } from '../model/types.js';
import { UdpProxy } from './udp-proxy.js';
import { VirtualService } from './virtual-service.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A UDP backend that answers "name:datagram". */
async function echo(name: string): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(`${name}:${m.toString()}`, r.port, r.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return s.address().port;
}

const ep = (port: number): EndpointInfo => ({ ip: '127.0.0.1', port, ready: true, serving: true, terminating: false });

async function client(): Promise<{ ask: (port: number, text: string) => Promise<string> }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return {
    ask: (port, text) =>
      new Promise((resolve) => {
        s.once('message', (m) => resolve(m.toString()));
        s.send(text, port, '127.0.0.1');
      }),
  };
}

describe('UdpProxy', () => {
  it('keeps a client on one backend for its session, answers from the service socket, and forgets the session when idle', async () => {
    const a = await echo('a');
    const b = await echo('b');
    let now = 0;
    const vs = new VirtualService('rr', '10.96.0.10', undefined, () => now);
    vs.update([ep(a), ep(b)], '10.96.0.10', undefined);
    const proxy = new UdpProxy(vs, undefined, 250, () => now);
    const port = await proxy.listen(0, '127.0.0.1');
    cleanups.push(() => proxy.close());
    const c1 = await client();
    const c2 = await client();
    expect(await c1.ask(port, 'one')).toBe('a:one');
    expect(await c1.ask(port, 'two')).toBe('a:two'); // same session
    expect(await c2.ask(port, 'x')).toBe('b:x'); // another client, the next backend
    expect(proxy.sessionCount).toBe(2);
    now += 100;
    proxy.sweep();
    expect(proxy.sessionCount).toBe(2);
    now += 300;
    proxy.sweep();
    expect(proxy.sessionCount).toBe(0);
    expect(await c1.ask(port, 'three')).toBe('a:three'); // scheduled afresh: rr's cursor was on b
  });
});
