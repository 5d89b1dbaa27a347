import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { requestInfo } from '../http/request-info.js';
import { requestContext } from '../http/request-context.js';
import { AuditLog } from './log.js';
import { parsePolicy } from './policy.js';
import { callInfo } from '../grpc/audit.js';
import type { AuditEvent } from './event.js';

const at = new Date('2026-01-01T00:00:00.000Z');
const arrival = {
  auditID: 'id-1',
  received: at,
  requestURI: '/api/v1/namespaces/default/configmaps/cfg',
  info: callInfo('/kemu.ApiServer/Patch', 'patch', { group: '', version: 'v1', resource: 'configmaps', namespace: 'default' }, 'cfg'),
  user: { name: 'jane', groups: ['system:authenticated'] },
  sourceIPs: ['10.0.0.1'],
};

function log(policy: string) {
  const lines: string[] = [];
  return {
    audit: AuditLog.to(
      (l) => lines.push(l),
      parsePolicy(policy),
      () => at,
    ),
    events: () => lines.map((l) => JSON.parse(l) as AuditEvent),
  };
}

describe('audit of calls that are not HTTP exchanges (gRPC)', () => {
  it("the policy's level and stages, the request and response at RequestResponse", () => {
    const { audit, events } = log('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n');
    const stages = audit.call(arrival);
    stages?.('ResponseComplete', { code: 200, requestObject: () => ({ data: { a: '1' } }), response: () => ({ kind: 'ConfigMap' }) });
    expect(events().map((e) => e.stage)).toEqual(['RequestReceived', 'ResponseComplete']);
    expect(events()[1]).toMatchObject({
      verb: 'patch',
      requestObject: { data: { a: '1' } },
      responseObject: { kind: 'ConfigMap' },
      responseStatus: { code: 200 },
    });
  });

  it('Metadata reads no bodies; a failure keeps its Status in responseStatus; None writes nothing', () => {
    const { audit, events } = log(
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: None\n  users: [bob]\n- level: Metadata\n',
    );
    const never = () => {
      throw new Error('read');
    };
    audit.call(arrival)?.('ResponseComplete', { code: 200, requestObject: never, response: never });
    audit.call(arrival)?.('ResponseComplete', { code: 409, response: () => ({ kind: 'Status', status: 'Failure', reason: 'Conflict', message: 'changed' }) });
    expect(audit.call({ ...arrival, user: { name: 'bob', groups: [] } })).toBeUndefined();
    expect(events().map((e) => e.responseStatus)).toEqual([
      { metadata: {}, code: 200 },
      { metadata: {}, code: 409, status: 'Failure', reason: 'Conflict', message: 'changed' },
    ]);
    expect(events()[0].requestObject).toBeUndefined();
  });
});

describe('audit of upgrades (exec, attach, port-forward)', () => {
  const exec = (user: { name: string; groups: string[] }) => {
    const req = new IncomingMessage(new Socket());
    req.method = 'GET';
    req.url = '/api/v1/namespaces/default/pods/web/exec?command=sh';
    req.headers = { 'user-agent': 'kubectl/v1.32.0' };
    // The handler authorizes an exec as `create`, whatever its method.
    Object.assign(requestContext(req), { user, verb: 'create' });
    return req;
  };
  const jane = { name: 'jane', groups: ['system:authenticated'] };

  it('create on pods/exec: started with the 101 when the status line goes out, complete when the connection closes', async () => {
    const { audit, events } = log('apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n');
    const req = exec(jane);
    const socket = new PassThrough();
    audit.beginUpgrade(req, socket, 'up-1', { received: at, info: requestInfo(req.method, req.url), user: jane });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
    socket.write('stream bytes');
    expect(events()).toHaveLength(1);
    socket.destroy();
    await new Promise((r) => socket.once('close', r));
    expect(events().map((e) => [e.stage, e.verb, e.objectRef?.subresource, e.responseStatus?.code])).toEqual([
      ['ResponseStarted', 'create', 'exec', 101],
      ['ResponseComplete', 'create', 'exec', 101],
    ]);
    expect(events()[0]).toMatchObject({ auditID: 'up-1', user: { username: 'jane' }, objectRef: { resource: 'pods', namespace: 'default', name: 'web' } });
  });

  it("a refused upgrade: the refusal's code and Status", async () => {
    const { audit, events } = log('apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived, ResponseStarted]\nrules:\n- level: Metadata\n');
    const req = exec(jane);
    const socket = new PassThrough();
    audit.beginUpgrade(req, socket, 'up-2', { received: at, info: requestInfo(req.method, req.url), user: jane });
    const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "web" is forbidden', reason: 'Forbidden', code: 403 };
    socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(status)}`);
    socket.destroy();
    await new Promise((r) => socket.once('close', r));
    expect(events()).toMatchObject([{ stage: 'ResponseComplete', responseStatus: { code: 403, reason: 'Forbidden', message: 'pods "web" is forbidden' } }]);
  });
});
