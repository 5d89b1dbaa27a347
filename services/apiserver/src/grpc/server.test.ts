import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { StatusError, type KubeObject } from '@kemu/api';
import type { ApiServerServer, ResourceRef } from '@kemu/proto';
import { makeCA, newKey } from '@kemu/client/pki';
import { AuditLog } from '../audit/log.js';
import type { AuditEvent } from '../audit/event.js';
import { FlowControl } from '../http/flowcontrol.js';
import type { UserInfo } from '../http/auth.js';
import type { RestStore } from '../registry/rest.js';
import { MAX_BODY } from '../http/body.js';
import { createGrpcService } from './server.js';

const admin: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };
const bot: UserInfo = { name: 'system:serviceaccount:default:bot', groups: ['system:serviceaccounts', 'system:authenticated'] };
const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', resourceVersion: '7' } };
const pods: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespace: 'default' };

/** A grpc-js server call as the service reads it: its request, metadata and peer. */
class FakeCall extends EventEmitter {
  cancelled = false;
  metadata = new grpc.Metadata();
  writableLength = 0;
  written: unknown[] = [];
  constructor(
    readonly request: Record<string, unknown>,
    private readonly path: string,
    token?: string,
  ) {
    super();
    if (token) this.metadata.set('authorization', `Bearer ${token}`);
    this.metadata.set('user-agent', 'kemu-test grpc-node-js/1.14.0');
  }
  getPath = () => this.path;
  getPeer = () => '172.23.0.9:40123';
  write = (m: unknown) => this.written.push(m);
  end = () => undefined;
  destroy = (e: unknown) => this.emit('destroyed', e);
}

const ca = newKey().then(makeCA);

async function service() {
  const lines: string[] = [];
  const rest = {
    caches: new Map(),
    get: () => Promise.resolve(pod),
    watch: () => Promise.resolve({ stop: () => undefined }),
  } as unknown as RestStore;
  const svc = createGrpcService({
    rest,
    authn: (t) => Promise.resolve(t === 'admin' ? admin : t === 'bot' ? bot : undefined),
    ca: Buffer.from((await ca).cert),
    flowControl: new FlowControl({ totalSeats: 10, waitLimitMs: 15_000 }),
    onWatchCount: () => undefined,
    audit: AuditLog.to((l) => lines.push(l)),
  });
  const events = () => lines.map((l) => JSON.parse(l) as AuditEvent);
  return { svc, events };
}

/** Call a unary method; resolve with its error (a ServiceError) or its answer. */
function call(svc: ApiServerServer, method: 'get' | 'patch', c: FakeCall): Promise<{ err: grpc.ServiceError | null; res: unknown }> {
  const fn = svc[method] as unknown as (c: FakeCall, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;
  return new Promise((resolve) => fn(c, (err, res) => resolve({ err, res })));
}

const statusOf = (err: grpc.ServiceError | null) => JSON.parse(String(err?.metadata.get('kemu-status-bin')[0])) as StatusError['status'];

describe('the gRPC front writes the audit log as REST', () => {
  it('a call: its user, verb, object, peer, user agent and answer', async () => {
    const { svc, events } = await service();
    const { err } = await call(svc, 'get', new FakeCall({ ref: pods, name: 'web' }, '/kemu.ApiServer/Get', 'admin'));
    expect(err).toBeNull();
    const [e] = events();
    expect(events()).toHaveLength(1); // the default policy omits RequestReceived, as over REST
    expect(e).toMatchObject({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      stage: 'ResponseComplete',
      requestURI: '/api/v1/namespaces/default/pods/web',
      verb: 'get',
      user: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
      sourceIPs: ['172.23.0.9'],
      userAgent: 'kemu-test grpc-node-js/1.14.0',
      objectRef: { resource: 'pods', namespace: 'default', name: 'web', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
      annotations: { 'authorization.k8s.io/decision': 'allow' },
    });
    expect(e.auditID).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a refused call: the 403 Status and the decision; an unauthenticated one as anonymous with 401', async () => {
    const { svc, events } = await service();
    const { err } = await call(svc, 'get', new FakeCall({ ref: pods, name: 'web' }, '/kemu.ApiServer/Get', 'bot'));
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    await call(svc, 'get', new FakeCall({ ref: pods, name: 'web' }, '/kemu.ApiServer/Get', 'nobody'));
    const [forbidden, unauthorized] = events();
    expect(forbidden).toMatchObject({
      user: { username: bot.name },
      verb: 'get',
      responseStatus: { code: 403, status: 'Failure', reason: 'Forbidden' },
      annotations: { 'authorization.k8s.io/decision': 'forbid' },
    });
    expect(unauthorized).toMatchObject({ user: { username: 'system:anonymous' }, responseStatus: { code: 401, reason: 'Unauthorized' } });
  });

  it('a watch: when it started (200) and when it ended', async () => {
    const { svc, events } = await service();
    const c = new FakeCall({ ref: pods }, '/kemu.ApiServer/Watch', 'admin');
    (svc.watch as unknown as (c: FakeCall) => void)(c);
    await vi.waitFor(() => expect(events()).toHaveLength(1));
    expect(events()).toMatchObject([
      { stage: 'ResponseStarted', verb: 'watch', requestURI: '/api/v1/namespaces/default/pods?watch=true', responseStatus: { code: 200 } },
    ]);
    c.emit('cancelled');
    expect(events().map((e) => e.stage)).toEqual(['ResponseStarted', 'ResponseComplete']);
  });
});

describe('gRPC bodies are limited as REST', () => {
  it("a JSON patch of more than 10,000 operations is kube-apiserver's 413", async () => {
    const { svc, events } = await service();
    const ops = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/metadata/name', value: 'web' }));
    const { err } = await call(
      svc,
      'patch',
      new FakeCall(
        { ref: pods, name: 'web', patchType: 'application/json-patch+json', patch: Buffer.from(JSON.stringify(ops)) },
        '/kemu.ApiServer/Patch',
        'admin',
      ),
    );
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(statusOf(err)).toMatchObject({
      code: 413,
      reason: 'RequestEntityTooLarge',
      message: 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
    });
    expect(events()[0]).toMatchObject({ verb: 'patch', responseStatus: { code: 413 } });
  });

  it('a body past 3 MiB is the 413 REST answers', async () => {
    const { svc } = await service();
    const patch = Buffer.from(JSON.stringify({ metadata: { annotations: { a: 'x'.repeat(MAX_BODY) } } }));
    const { err } = await call(
      svc,
      'patch',
      new FakeCall({ ref: pods, name: 'web', patchType: 'application/merge-patch+json', patch }, '/kemu.ApiServer/Patch', 'admin'),
    );
    expect(statusOf(err)).toMatchObject({ code: 413, reason: 'RequestEntityTooLarge' });
  });
});
