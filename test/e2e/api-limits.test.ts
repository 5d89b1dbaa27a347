/**
 * The api-server under a hostile or careless client: API Priority and
 * Fairness keeps a flooding service account to its own priority level and
 * queues, over REST (429 with Retry-After past them) and over the
 * components' gRPC front (RESOURCE_EXHAUSTED with the same 429 Status),
 * while other users, the nodes and their Leases go on; oversized and
 * malformed requests get kube-apiserver's answers; and the audit log (`kemu logs audit`) names who sent what.
 */
import https from 'node:https';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientRequest, IncomingMessage } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, realClock, type Clock } from '@kemu/client';
import { ApiServerClient } from '@kemu/proto';
import { api, creds, ctx, k, kubectl, namespace, parseJson, stateFile, waitFor, type ApiResponse } from './helpers.js';
import { auditEvents, type AuditEvent } from './audit.js';

/** An event with the fields that tell where a request came from. */
type Seen = AuditEvent & { userAgent?: string; sourceIPs?: string[] };
const seen = () => auditEvents() as Seen[];

interface Status {
  kind: string;
  code: number;
  reason: string;
  message: string;
  details?: { retryAfterSeconds?: number };
}

let ns: string;
let token: string;
let flooder: string;
let dir: string;
const jane = { crt: '', key: '', kubeconfig: '' };

beforeAll(async () => {
  ns = await namespace('limits');
  await k(['create', 'serviceaccount', 'flooder', '-n', ns]);
  token = (await k(['create', 'token', 'flooder', '-n', ns])).trim();
  // RBAC: the flooder and jane may read and write the namespace's ConfigMaps (and the flooder its ServiceAccount).
  await k(['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'limits', namespace: ns },
          rules: [{ apiGroups: [''], resources: ['configmaps', 'serviceaccounts'], verbs: ['get', 'list', 'create', 'patch'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'limits', namespace: ns },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'limits' },
          subjects: [
            { kind: 'ServiceAccount', name: 'flooder', namespace: ns },
            { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'jane' },
          ],
        },
      ],
    }),
  });
  flooder = `system:serviceaccount:${ns}:flooder`;
  // jane: an ordinary user (a client certificate of the cluster CA), in APF's global-default level.
  dir = mkdtempSync(join(tmpdir(), 'kemu-limits-'));
  [jane.crt, jane.key] = [join(dir, 'jane.crt'), join(dir, 'jane.key')];
  const csr = join(dir, 'jane.csr');
  execFileSync('openssl', ['req', '-new', '-nodes', '-newkey', 'rsa:2048', '-keyout', jane.key, '-out', csr, '-subj', '/CN=jane/O=dev'], { stdio: 'ignore' });
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      stateFile('pki', 'ca.crt'),
      '-CAkey',
      stateFile('pki', 'ca.key'),
      '-set_serial',
      '4242',
      '-days',
      '1',
      '-out',
      jane.crt,
    ],
    {
      stdio: 'ignore',
    },
  );
  const c = creds();
  jane.kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    jane.kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'kemu', cluster: { server: c.server.toString(), 'certificate-authority-data': c.ca.toString('base64') } }],
      users: [{ name: 'jane', user: { 'client-certificate': jane.crt, 'client-key': jane.key } }],
      contexts: [{ name: 'jane', context: { cluster: 'kemu', user: 'jane' } }],
      'current-context': 'jane',
    }),
  );
});

afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** kubectl as jane (the later --kubeconfig wins). */
const asJane = (args: string[]) => kubectl(['--kubeconfig', jane.kubeconfig, ...args]);

/** A request with the flooder's token (on its own connection), answered in full. */
function asFlooder(method: string, path: string, body?: string): Promise<ApiResponse<Status>> {
  return api<Status>(method, path, undefined, { anonymous: true, headers: { Authorization: `Bearer ${token}` }, ...(body ? { raw: body } : {}) });
}

// One TLS context and session cache for the flood's many connections: each handshake after the first is resumed.
let flood: { agent: https.Agent; secureContext: tls.SecureContext } | undefined;
function floodConnection() {
  flood ??= { agent: new https.Agent({ maxSockets: Infinity }), secureContext: tls.createSecureContext({ ca: creds().ca }) };
  return flood;
}

/**
 * A request of the flooder on a connection of its own. A hog's headers promise a body that never comes, so once
 * dispatched it keeps its seat; it is answered only when refused.
 */
function flooderRequest(
  method: string,
  path: string,
  o: { hog?: boolean } = {},
): { req: ClientRequest; answered: Promise<IncomingMessage & { text: string }> } {
  const c = creds();
  let req!: ClientRequest;
  const answered = new Promise<IncomingMessage & { text: string }>((resolve, reject) => {
    req = https.request({
      host: c.server.hostname,
      port: c.server.port,
      path,
      method,
      ...floodConnection(),
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(o.hog ? { 'Content-Length': '1000' } : {}) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(Object.assign(res, { text: Buffer.concat(chunks).toString('utf8') })));
    });
    req.on('error', (e) => (o.hog ? undefined : reject(e)));
    if (o.hog) req.flushHeaders();
    else req.end();
  });
  return { req, answered };
}

/** One series of the api-server's metrics, summed over the series whose labels contain `labels`. */
async function metric(name: string, labels: string): Promise<number> {
  const r = await api('GET', '/metrics', undefined, { headers: { Accept: 'text/plain' } });
  let sum = 0;
  for (const line of r.text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(labels)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/**
 * Every seat of the flooder's priority level (workload-low), held by hogs until the function returned is
 * called: whatever else the flooder sends, over REST or gRPC, waits in its flow's queues.
 */
async function holdEverySeat(seats: number): Promise<() => void> {
  const hogs = Array.from({ length: seats }, () => flooderRequest('POST', `/api/v1/namespaces/${ns}/configmaps`, { hog: true }));
  const release = () => hogs.forEach((h) => h.req.destroy());
  try {
    await waitFor(
      'the flood to hold every seat',
      async () => (await metric('apiserver_flowcontrol_current_executing_requests', 'priority_level="workload-low"')) >= seats,
      120_000,
      200,
    );
  } catch (e) {
    release();
    throw e;
  }
  return release;
}

const seatsFreed = () =>
  waitFor(
    'the seats to be freed',
    async () => (await metric('apiserver_flowcontrol_current_executing_requests', 'priority_level="workload-low"')) === 0,
    60_000,
    200,
  );

const grpcAddress = () => `${ctx().subnet}.0.3:6444`;
const grpcCA = () => readFileSync(stateFile('pki', 'ca.crt'));

/** A gRPC channel with the flooder's token, answered as grpc-js sees it: no retries. */
function flooderGrpc(options: grpc.ChannelOptions = {}): ApiServerClient {
  const auth = grpc.credentials.createFromMetadataGenerator((_p, cb) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    cb(null, md);
  });
  return new ApiServerClient(grpcAddress(), grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(grpcCA()), auth), {
    'grpc.ssl_target_name_override': 'kubernetes',
    ...options,
  });
}

/** List the namespace's ConfigMaps over gRPC: the call's code and the Status in its trailer. */
function grpcList(client: ApiServerClient): Promise<{ code: grpc.status; status?: Status }> {
  return new Promise((resolve) => {
    const req = { ref: { group: '', version: 'v1', resource: 'configmaps', namespace: ns }, labelSelector: '', fieldSelector: '', limit: 0, continue: '' };
    client.list(req, new grpc.Metadata(), { deadline: Date.now() + 60_000 }, (err) => {
      if (!err) return resolve({ code: grpc.status.OK });
      const raw = err.metadata?.get('kemu-status-bin')[0];
      resolve({ code: err.code, status: raw ? parseJson<Status>(Buffer.from(raw).toString('utf8')) : undefined });
    });
  });
}

/** Patch a ConfigMap of the namespace over gRPC: the call's code and the Status in its trailer. */
function grpcPatch(client: ApiServerClient, name: string, patchType: string, patch: string): Promise<{ code: grpc.status; status?: Status }> {
  return new Promise((resolve) => {
    const req = { ref: { group: '', version: 'v1', resource: 'configmaps', namespace: ns }, name, subresource: '', patchType, patch: Buffer.from(patch) };
    client.patch(req, new grpc.Metadata(), { deadline: Date.now() + 60_000 }, (err) => {
      if (!err) return resolve({ code: grpc.status.OK });
      const raw = err.metadata?.get('kemu-status-bin')[0];
      resolve({ code: err.code, status: raw ? parseJson<Status>(Buffer.from(raw).toString('utf8')) : undefined });
    });
  });
}

const leaseRenewTime = async (node: string) =>
  parseJson<{ spec: { renewTime: string } }>(await k(['get', 'lease', node, '-n', 'kube-node-lease', '-o', 'json'])).spec.renewTime;

describe('API Priority and Fairness', () => {
  it('answers a flooding client 429 with Retry-After while other users and the nodes are served', async () => {
    // The flooder's priority level (workload-low, as every service account's) and its seats, as the api-server says.
    const seats = await metric('apiserver_flowcontrol_nominal_limit_seats', 'priority_level="workload-low"');
    expect(seats).toBeGreaterThan(0);
    const first = await asFlooder('GET', `/api/v1/namespaces/${ns}/configmaps`);
    expect(first.status).toBe(200);
    expect(first.headers['x-kubernetes-pf-prioritylevel-uid']).toBeTruthy();
    expect(first.headers['x-kubernetes-pf-flowschema-uid']).toBeTruthy();

    // The flood: requests that hold every seat of the level, then more, which wait in the flow's queues until
    // refused (kube-apiserver lets a request wait a quarter of its 60 s timeout).
    const release = await holdEverySeat(seats);
    try {
      const waiting = Array.from({ length: 20 }, () => flooderRequest('GET', `/api/v1/namespaces/${ns}/configmaps`).answered);

      // Meanwhile: another user, the admin, and the nodes (Leases renewed, Ready).
      const janes = await asJane(['get', 'configmaps', '-n', ns, '-o', 'name']);
      expect(janes.exitCode, janes.stderr).toBe(0);
      const before = await leaseRenewTime('node-1');
      await waitFor('node-1 to renew its Lease during the flood', async () => (await leaseRenewTime('node-1')) !== before, 60_000, 500);
      const ready = await k(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}']);
      expect(ready.trim().split(' ')).toEqual(['True', 'True', 'True']);

      for (const res of await Promise.all(waiting)) {
        expect(res.statusCode).toBe(429);
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(parseJson<Status>(res.text)).toMatchObject({
          kind: 'Status',
          code: 429,
          reason: 'TooManyRequests',
          message: 'Too many requests, please try again later.',
        });
      }
      expect(await metric('apiserver_flowcontrol_rejected_requests_total', 'flow_schema="service-accounts"')).toBeGreaterThanOrEqual(20);
    } finally {
      release();
    }
    // The flood over, its seats come back and the flooder is served again.
    await seatsFreed();
    expect((await asFlooder('GET', `/api/v1/namespaces/${ns}/configmaps`)).status).toBe(200);
  }, 180_000);

  it('answers a gRPC flood RESOURCE_EXHAUSTED with the 429 Status, from the same seats, while another client and the nodes are served', async () => {
    const seats = await metric('apiserver_flowcontrol_nominal_limit_seats', 'priority_level="workload-low"');
    const rejectedBefore = await metric('apiserver_flowcontrol_rejected_requests_total', 'flow_schema="service-accounts"');
    const raw = flooderGrpc();
    // The flooder as a component would be (@kemu/client's ApiClient, which retries after a Retry-After), its waits
    // noted; and jane over gRPC with her client certificate.
    const waits: number[] = [];
    const noting: Clock = { now: () => Date.now(), setTimeout: (fn, ms) => (waits.push(ms), realClock.setTimeout(fn, ms)) };
    const patient = new ApiClient({ address: grpcAddress(), ca: grpcCA(), token, clock: noting });
    const janeGrpc = new ApiClient({ address: grpcAddress(), ca: grpcCA(), clientCert: { cert: readFileSync(jane.crt), key: readFileSync(jane.key) } });
    const configMaps = { version: 'v1', resource: 'configmaps', namespace: ns };
    try {
      expect((await grpcList(raw)).code).toBe(grpc.status.OK);
      expect((await patient.list(configMaps)).items).toBeDefined();
      // The flooder's REST hogs hold every seat of its level: its gRPC calls wait behind them (one set of seats for
      // both fronts) — past its flow's queues (6 of 50 places) refused at once, the others once they waited too long.
      const release = await holdEverySeat(seats);
      let patientList: Promise<unknown>;
      try {
        // The ApiClient's call first, in a queue before the flood fills them.
        patientList = patient.list(configMaps);
        await waitFor(
          'the call to wait in a queue',
          async () => (await metric('apiserver_flowcontrol_current_inqueue_requests', 'priority_level="workload-low"')) >= 1,
          30_000,
          100,
        );
        const flood = Array.from({ length: 400 }, () => grpcList(raw));

        // Meanwhile: another user over gRPC, and the nodes, whose kubelets renew their Leases over gRPC.
        expect((await janeGrpc.list(configMaps)).items).toBeDefined();
        const before = await leaseRenewTime('node-2');
        await waitFor('node-2 to renew its Lease during the gRPC flood', async () => (await leaseRenewTime('node-2')) !== before, 60_000, 500);
        const ready = await k(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}']);
        expect(ready.trim().split(' ')).toEqual(['True', 'True', 'True']);

        for (const r of await Promise.all(flood)) {
          expect(r.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
          expect(r.status).toMatchObject({ kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'Too many requests, please try again later.' });
          expect(r.status?.details?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        }
        expect(await metric('apiserver_flowcontrol_rejected_requests_total', 'flow_schema="service-accounts"')).toBeGreaterThanOrEqual(rejectedBefore + 400);
        // The ApiClient's call was refused too when it had waited too long, and waits as told before it tries again.
        await waitFor('the ApiClient to wait its Retry-After', () => waits.length > 0, 60_000, 200);
        expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000);
      } finally {
        release();
      }
      await seatsFreed();
      // The flood over, the call that was refused is answered on a retry.
      await expect(patientList).resolves.toMatchObject({ items: expect.any(Array) as unknown[] });
      expect((await grpcList(raw)).code).toBe(grpc.status.OK);
    } finally {
      raw.close();
      patient.close();
      janeGrpc.close();
    }
  }, 240_000);
});

describe('request limits', () => {
  const cm = (data: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { d: data } });

  it('refuses a 4 MiB body with 413', async () => {
    const r = await api<Status>('POST', `/api/v1/namespaces/${ns}/configmaps`, undefined, { raw: cm('x'.repeat(4 * 1024 * 1024)) });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ kind: 'Status', code: 413, reason: 'RequestEntityTooLarge', message: 'Request entity too large: limit is 3145728' });
  });

  it('refuses bad JSON and JSON nested too deep with 400', async () => {
    const bad = await api<Status>('POST', `/api/v1/namespaces/${ns}/configmaps`, undefined, { raw: '{"apiVersion": "v1", "kind": ' });
    expect(bad.status).toBe(400);
    expect(bad.body.kind).toBe('Status');
    const deep = await api<Status>('POST', `/api/v1/namespaces/${ns}/configmaps`, undefined, { raw: '['.repeat(1_000_000) + ']'.repeat(1_000_000) });
    expect(deep.status).toBe(400);
    expect(deep.body.message).toMatch(/exceeded max depth/);
  });

  it('refuses a JSON patch of 10,001 operations with 413, and a YAML bomb with 400', { timeout: 120_000 }, async () => {
    await k(['create', 'configmap', 'target', '-n', ns, '--from-literal=a=1']);
    const ops = (n: number) => JSON.stringify(Array.from({ length: n }, () => ({ op: 'add', path: '/data/b', value: '2' })));
    const path = `/api/v1/namespaces/${ns}/configmaps/target`;
    const tooMany = await api<Status>('PATCH', path, undefined, { raw: ops(10_001), headers: { 'Content-Type': 'application/json-patch+json' } });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toMatchObject({
      reason: 'RequestEntityTooLarge',
      message: 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
    });
    const ok = await api<{ data: Record<string, string> }>('PATCH', path, undefined, {
      raw: ops(10_000),
      headers: { 'Content-Type': 'application/json-patch+json' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toEqual({ a: '1', b: '2' });
    // The gRPC front parses a patch as REST does: the same 413.
    const client = flooderGrpc();
    try {
      const overGrpc = await grpcPatch(client, 'target', 'application/json-patch+json', ops(10_001));
      expect(overGrpc.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(overGrpc.status).toMatchObject({
        kind: 'Status',
        code: 413,
        reason: 'RequestEntityTooLarge',
        message: 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
      });
    } finally {
      client.close();
    }

    const lines = ['apiVersion: v1', 'kind: ConfigMap', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const bomb = await api<Status>('PATCH', `${path}?fieldManager=test`, undefined, {
      raw: lines.join('\n'),
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
    });
    expect(bomb.status).toBe(400);
    expect(bomb.body.kind).toBe('Status');

    // The api-server took all of it in its stride.
    expect(await k(['get', 'configmap', 'target', '-n', ns, '-o', 'jsonpath={.data.a}'])).toBe('1');
    expect((await k(['get', '--raw', '/readyz'])).trim()).toBe('ok');
  });
});

describe('audit log', () => {
  it('kemu logs audit shows who sent each request, with its audit ID and answer', { timeout: 120_000 }, async () => {
    const r = await asFlooder('GET', `/api/v1/namespaces/${ns}/serviceaccounts/flooder`);
    expect(r.status).toBe(200);
    const auditID = String(r.headers['audit-id']);
    expect(auditID).toMatch(/^[0-9a-f-]{36}$/);
    const janes = await asJane(['get', 'configmap', 'target', '-n', ns]);
    expect(janes.exitCode, janes.stderr).toBe(0);

    const events = await waitFor('the audit events to be written', () => {
      const all = auditEvents();
      return all.some((e) => e.auditID === auditID) && all.some((e) => e.user.username === 'jane') ? all : undefined;
    });
    expect(events.find((e) => e.auditID === auditID)).toMatchObject({
      stage: 'ResponseComplete',
      verb: 'get',
      user: { username: flooder, groups: expect.arrayContaining(['system:serviceaccounts', 'system:authenticated']) as string[] },
      objectRef: { resource: 'serviceaccounts', namespace: ns, name: 'flooder' },
      responseStatus: { code: 200 },
      annotations: { 'authorization.k8s.io/decision': 'allow' },
    });
    expect(events.some((e) => e.user.username === flooder && e.responseStatus?.code === 429 && e.responseStatus.reason === 'TooManyRequests')).toBe(true);
    expect(events.some((e) => e.user.username === 'jane' && e.user.groups.includes('dev') && e.objectRef?.name === 'target' && e.verb === 'get')).toBe(true);
    expect(events.some((e) => e.objectRef?.name === 'target' && e.verb === 'patch' && e.responseStatus?.code === 413)).toBe(true);
  });

  it("a gRPC call with a service account's token is audited as REST's, with its user, verb, object and peer", { timeout: 120_000 }, async () => {
    // A user agent of its own tells this call's event from the flooder's REST lists.
    const client = flooderGrpc({ 'grpc.primary_user_agent': 'kemu-e2e-audit' });
    try {
      expect((await grpcList(client)).code).toBe(grpc.status.OK);
    } finally {
      client.close();
    }
    const byGrpc = (e: Seen) => e.userAgent?.startsWith('kemu-e2e-audit') === true;
    const events = await waitFor('the gRPC call to be audited', () => {
      const all = seen().filter(byGrpc);
      return all.length ? all : undefined;
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      stage: 'ResponseComplete',
      verb: 'list',
      requestURI: `/api/v1/namespaces/${ns}/configmaps`,
      user: { username: flooder, groups: expect.arrayContaining(['system:serviceaccounts', 'system:authenticated']) as string[] },
      objectRef: { resource: 'configmaps', namespace: ns },
      responseStatus: { code: 200 },
      annotations: { 'authorization.k8s.io/decision': 'allow' },
    });
    expect(events[0].sourceIPs).toHaveLength(1);
    expect(events[0].sourceIPs?.[0]).toMatch(/^[0-9a-f.:]+$/);
    // The 10,001-operation patch the limits suite sent over gRPC, refused with 413, is there too.
    expect(
      seen().some(
        (e) =>
          e.user.username === flooder &&
          e.verb === 'patch' &&
          e.objectRef?.name === 'target' &&
          e.responseStatus?.code === 413 &&
          e.userAgent?.includes('grpc-node-js'),
      ),
    ).toBe(true);
  });
});
