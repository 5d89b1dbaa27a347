import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FlowControl } from './flowcontrol.js';
import type { Timers } from './flowcontrol-queue.js';
import { requestInfo } from './request-info.js';

/** Just enough of a ServerResponse: headers, the answer written, and its finish/close events. */
class FakeResponse extends EventEmitter {
  headers: Record<string, string> = {};
  code = 0;
  body = '';
  headersSent = false;
  destroyed = false;
  setHeader(k: string, v: string) {
    this.headers[k.toLowerCase()] = v;
  }
  writeHead(code: number, h: Record<string, string | number>) {
    this.code = code;
    for (const [k, v] of Object.entries(h)) this.setHeader(k, String(v));
    this.headersSent = true;
  }
  end(text: string) {
    this.body = text;
    this.emit('finish');
  }
}

const timers = (): Timers & { fire(): void } => {
  const fns = new Set<() => void>();
  return {
    set: (fn) => (fns.add(fn), () => fns.delete(fn)),
    fire: () => [...fns].forEach((fn) => (fns.delete(fn), fn())),
  };
};

const bot = { name: 'system:serviceaccount:default:bot', groups: ['system:serviceaccounts', 'system:authenticated'] };
const admin = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

function serve(fc: FlowControl, user: typeof bot, url: string) {
  const res = new FakeResponse();
  let ran = false;
  fc.serve(res as unknown as ServerResponse, user, requestInfo('GET', url), () => (ran = true));
  return { res, ran: () => ran };
}

describe('flow control around the handler', () => {
  it('runs, queues, then refuses with 429, a Status and Retry-After; a finished response frees its seat', () => {
    const t = timers();
    // One seat per level: ceil(1 × shares / 245).
    const fc = new FlowControl({ totalSeats: 1, waitLimitMs: 15_000, timers: t, nowSeconds: () => 0 });
    const first = serve(fc, bot, '/api/v1/pods');
    expect(first.ran()).toBe(true);
    expect(first.res.headers['x-kubernetes-pf-flowschema-uid']).toBeTruthy();
    const waiting = serve(fc, bot, '/api/v1/pods');
    expect(waiting.ran()).toBe(false);
    first.res.end('{}');
    expect(waiting.ran()).toBe(true);
    const late = serve(fc, bot, '/api/v1/pods');
    t.fire();
    expect(late.ran()).toBe(false);
    expect(late.res.code).toBe(429);
    expect(late.res.headers['retry-after']).toBe('1');
    expect(JSON.parse(late.res.body)).toMatchObject({
      kind: 'Status',
      reason: 'TooManyRequests',
      message: 'Too many requests, please try again later.',
      code: 429,
    });
  });

  it('holds no seat for watches or the exempt level, and forgets a waiting request whose client left', () => {
    const fc = new FlowControl({ totalSeats: 1, waitLimitMs: 15_000, timers: timers(), nowSeconds: () => 0 });
    const first = serve(fc, bot, '/api/v1/pods');
    expect(serve(fc, bot, '/api/v1/pods?watch=1').ran()).toBe(true);
    expect(serve(fc, admin, '/api/v1/pods').ran()).toBe(true);
    const gone = serve(fc, bot, '/api/v1/pods');
    gone.res.emit('close');
    const next = serve(fc, bot, '/api/v1/pods');
    first.res.end('{}');
    expect([gone.ran(), next.ran()]).toEqual([false, true]);
  });

  it('counts every request in and out of the metrics, and gives a seat back once however often it is told', () => {
    const gauges = { inQueue: 0, executing: 0, dispatched: 0, rejected: 0 };
    const observer = {
      inQueue: (_c: unknown, d: number) => (gauges.inQueue += d),
      executing: (_c: unknown, d: number) => (gauges.executing += d),
      dispatched: () => gauges.dispatched++,
      rejected: () => gauges.rejected++,
    };
    const t = timers();
    const fc = new FlowControl({ totalSeats: 1, waitLimitMs: 15_000, timers: t, nowSeconds: () => 0, observer });
    const info = requestInfo('GET', '/api/v1/pods');
    const ran: string[] = [];
    const admit = (name: string) => fc.admit(bot, info, { run: () => ran.push(name), reject: (e) => ran.push(`${name} ${e.code}`) });
    const first = admit('first');
    const second = admit('second');
    expect(gauges).toEqual({ inQueue: 1, executing: 1, dispatched: 1, rejected: 0 });
    first();
    first();
    expect(gauges).toEqual({ inQueue: 0, executing: 1, dispatched: 2, rejected: 0 });
    admit('third');
    t.fire();
    second();
    expect(ran).toEqual(['first', 'second', 'third 429']);
    expect(gauges).toEqual({ inQueue: 0, executing: 0, dispatched: 2, rejected: 1 });
  });

  it('gives back the seat of a response finished before the handler returned', () => {
    const fc = new FlowControl({ totalSeats: 1, waitLimitMs: 15_000, timers: timers(), nowSeconds: () => 0 });
    const res = new FakeResponse();
    fc.serve(res as unknown as ServerResponse, bot, requestInfo('GET', '/api/v1/pods'), () => res.end('{}'));
    expect(serve(fc, bot, '/api/v1/pods').ran()).toBe(true);
  });
});
