/**
 * The clients against real servers that refuse the first calls as the
 * api-server's API Priority and Fairness does (429 TooManyRequests with
 * retryAfterSeconds, over gRPC as RESOURCE_EXHAUSTED with the Status in the
 * trailer): the call is made again after the wait and answered.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServerService, type GetRequest, type ObjectResponse } from '@kemu/proto';
import { ApiClient } from './api-client.js';
import { RestClient } from './rest-client.js';
import { makeCA, newKey, signCert, type KeyPair } from './pki.js';
import type { Clock } from './clock.js';

const tooMany = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 2 } };
const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' } };
const cms = { version: 'v1', resource: 'configmaps', namespace: 'default' };

/** A clock whose timers fire at once, noting the waits asked for. */
function noting(waits: number[]): Clock {
  return { now: () => Date.now(), setTimeout: (fn, ms) => (waits.push(ms), setImmediate(fn), { cancel: () => undefined }) };
}

let ca: KeyPair;
let server: KeyPair;
beforeAll(async () => {
  const [caKey, k] = await Promise.all([newKey(), newKey()]);
  ca = makeCA(caKey);
  server = signCert(ca, { commonName: 'kubernetes', dnsNames: ['kubernetes'], ips: ['127.0.0.1'], server: true }, k);
});

describe('a call refused with a Retry-After', () => {
  let grpcServer: grpc.Server;
  let port = 0;
  let calls = 0;
  beforeAll(async () => {
    grpcServer = new grpc.Server();
    grpcServer.addService(ApiServerService, {
      get: (_call: grpc.ServerUnaryCall<GetRequest, ObjectResponse>, cb: grpc.sendUnaryData<ObjectResponse>) => {
        if (++calls <= 2) {
          const metadata = new grpc.Metadata();
          metadata.set('kemu-status-bin', Buffer.from(JSON.stringify(tooMany)));
          return cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'Too many requests', metadata });
        }
        cb(null, { object: { kind: 'ConfigMap', resourceVersion: '1', json: Buffer.from(JSON.stringify(configMap)) } });
      },
    });
    const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(server.key), cert_chain: Buffer.from(server.cert) }]);
    port = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  });
  afterAll(() => grpcServer?.forceShutdown());

  it('is made again by the ApiClient after the Status says, and answered', async () => {
    const waits: number[] = [];
    const client = new ApiClient({ address: `127.0.0.1:${port}`, ca: ca.cert, token: 't', clock: noting(waits) });
    try {
      expect((await client.get(cms, 'c')).metadata.name).toBe('c');
      expect([calls, waits]).toEqual([3, [2000, 2000]]);
      calls = -100; // refused from now on: given up after 10 retries, with the 429
      await expect(client.get(cms, 'c')).rejects.toMatchObject({ code: 429, reason: 'TooManyRequests' });
      expect(calls).toBe(-89);
    } finally {
      client.close();
    }
  });

  it('is made again by the RestClient (in a pod) after the Status says, and answered', async () => {
    let restCalls = 0;
    const rest = https.createServer({ cert: server.cert, key: server.key }, (req, res) => {
      const [code, body] = ++restCalls <= 1 ? [429, tooMany] : [200, configMap];
      res.writeHead(code, { 'Content-Type': 'application/json', ...(code === 429 ? { 'Retry-After': '2' } : {}) });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => rest.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'retry-'));
    const waits: number[] = [];
    try {
      writeFileSync(join(dir, 'token'), 't');
      const client = new RestClient({
        server: `https://127.0.0.1:${(rest.address() as AddressInfo).port}`,
        ca: ca.cert,
        tokenFile: join(dir, 'token'),
        clock: noting(waits),
      });
      expect((await client.get(cms, 'c')).metadata.name).toBe('c');
      expect([restCalls, waits]).toEqual([2, [2000]]);
    } finally {
      rest.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
