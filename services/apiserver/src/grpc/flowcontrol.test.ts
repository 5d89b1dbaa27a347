import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { StatusError } from '@kemu/api';
import { FlowControl } from '../http/flowcontrol.js';
import type { Timers } from '../http/flowcontrol-queue.js';
import type { UserInfo } from '../http/auth.js';
import { grpcRequestInfo, seatFor } from './flowcontrol.js';
import { toGrpcError } from './server.js';

/** A grpc-js call as flow control sees it: its client may cancel it. */
class FakeCall extends EventEmitter {
  cancelled = false;
  cancel() {
    this.cancelled = true;
    this.emit('cancelled');
  }
}

const timers = (): Timers & { fire(): void } => {
  const fns = new Set<() => void>();
  return {
    set: (fn) => (fns.add(fn), () => fns.delete(fn)),
    fire: () => [...fns].forEach((fn) => (fns.delete(fn), fn())),
  };
};

const bot: UserInfo = { name: 'system:serviceaccount:default:bot', groups: ['system:serviceaccounts', 'system:authenticated'] };
const node: UserInfo = { name: 'system:node:node-1', groups: ['system:nodes', 'system:authenticated'] };
const admin: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

const listConfigMaps = grpcRequestInfo('/kemu.ApiServer/List', {
  resourceRequest: true,
  verb: 'list',
  apiGroup: '',
  apiVersion: 'v1',
  resource: 'configmaps',
  namespace: 'default',
});
const renewLease = grpcRequestInfo('/kemu.ApiServer/Update', {
  resourceRequest: true,
  verb: 'update',
  apiGroup: 'coordination.k8s.io',
  apiVersion: 'v1',
  resource: 'leases',
  namespace: 'kube-node-lease',
  name: 'node-1',
});

/** Ask for a seat; say later whether it was given, refused, or neither yet. */
function ask(fc: FlowControl, user: UserInfo, info = listConfigMaps) {
  const call = new FakeCall();
  let outcome: { release: () => void } | { error: unknown } | undefined;
  void seatFor(fc, user, info, call).then(
    (release) => (outcome = { release }),
    (error: unknown) => (outcome = { error }),
  );
  return { call, outcome: async () => (await Promise.resolve(), outcome) };
}

describe('flow control on the gRPC front', () => {
  it('shares the seats of the REST front, and refuses past them with RESOURCE_EXHAUSTED and the 429 Status', async () => {
    const t = timers();
    // One seat per level (ceil(1 × shares / 245)), taken here by a REST request of the same level.
    const fc = new FlowControl({ totalSeats: 1, waitLimitMs: 15_000, timers: t, nowSeconds: () => 0 });
    const rest = fc.admit(bot, listConfigMaps, { run: () => undefined, reject: () => undefined });
    const waiting = ask(fc, bot);
    expect(await waiting.outcome()).toBeUndefined();
    t.fire();
    const out = await waiting.outcome();
    const err = (out as { error: unknown }).error;
    expect(err).toBeInstanceOf(StatusError);
    const wire = toGrpcError(err);
    expect(wire.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(JSON.parse(Buffer.from(wire.metadata.get('kemu-status-bin')[0] as Buffer).toString('utf8'))).toMatchObject({
      kind: 'Status',
      code: 429,
      reason: 'TooManyRequests',
      message: 'Too many requests, please try again later.',
      details: { retryAfterSeconds: 1 },
    });
    rest();
    const next = ask(fc, bot);
    expect(await next.outcome()).toHaveProperty('release');
  });

  it("serves a node's Lease from its own level and the admin exempt while service accounts have every seat", async () => {
    const fc = new FlowControl({ totalSeats: 1, waitLimitMs: 15_000, timers: timers(), nowSeconds: () => 0 });
    expect(await ask(fc, bot).outcome()).toHaveProperty('release');
    expect(await ask(fc, bot).outcome()).toBeUndefined();
    expect(await ask(fc, node, renewLease).outcome()).toHaveProperty('release');
    expect(await ask(fc, admin).outcome()).toHaveProperty('release');
  });

  it('gives the seat back when a running call is cancelled, and the queue place when a waiting one is', async () => {
    const fc = new FlowControl({ totalSeats: 1, waitLimitMs: 15_000, timers: timers(), nowSeconds: () => 0 });
    const running = ask(fc, bot);
    expect(await running.outcome()).toHaveProperty('release');
    const gone = ask(fc, bot);
    const next = ask(fc, bot);
    gone.call.cancel();
    running.call.cancel();
    expect(await gone.outcome()).toBeUndefined();
    const served = await next.outcome();
    expect(served).toHaveProperty('release');
    // Released twice (answered, then cancelled): the seat is given back once.
    (served as { release: () => void }).release();
    next.call.cancel();
    expect(await ask(fc, bot).outcome()).toHaveProperty('release');
    expect(await ask(fc, bot).outcome()).toBeUndefined();
  });
});
