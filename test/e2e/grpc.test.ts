/** The gRPC face the cluster's components use: verbs, watch streams, Status errors. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@kemu/client';
import { isConflict, isNotFound, StatusError, type WatchEvent } from '@kemu/api';
import { ctx, namespace, parseJson, stateFile, waitFor } from './helpers.js';

let client: ApiClient;
let ns: string;
const cms = () => ({ version: 'v1', resource: 'configmaps', namespace: ns });

beforeAll(async () => {
  ns = await namespace('grpc');
  const tokens = parseJson<Record<string, string>>(readFileSync(stateFile('pki', 'tokens.json'), 'utf8'));
  client = new ApiClient({ address: `${ctx().subnet}.0.3:6444`, ca: readFileSync(stateFile('pki', 'ca.crt')), token: tokens.admin });
});
afterAll(() => client?.close());

describe('gRPC API', () => {
  it('creates, gets, lists, patches, updates and deletes', async () => {
    const created = await client.create(cms(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'g1' }, data: { a: '1' } });
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    expect((await client.get(cms(), 'g1')).data).toEqual({ a: '1' });
    expect((await client.list(cms())).items.map((i) => i.metadata.name)).toContain('g1');
    const patched = await client.patch(cms(), 'g1', { data: { b: '2' } });
    expect(patched.data).toEqual({ a: '1', b: '2' });
    await expect(client.update(cms(), created)).rejects.toSatisfy(isConflict);
    await client.delete(cms(), 'g1');
    await expect(client.get(cms(), 'g1')).rejects.toSatisfy(isNotFound);
  });

  it('streams watch events', async () => {
    const events: WatchEvent[] = [];
    const ac = new AbortController();
    const { resourceVersion } = await client.list(cms());
    const done = (async () => {
      for await (const ev of client.watch(cms(), { resourceVersion, signal: ac.signal })) events.push(ev);
    })();
    await client.create(cms(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gw' } });
    await client.delete(cms(), 'gw');
    await waitFor('ADDED and DELETED', () => events.length >= 2);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED gw', 'DELETED gw']);
    ac.abort();
    await done;
  });

  it('refuses a caller without a valid token', async () => {
    const bad = new ApiClient({ address: `${ctx().subnet}.0.3:6444`, ca: readFileSync(stateFile('pki', 'ca.crt')), token: 'wrong' });
    await expect(bad.list(cms())).rejects.toMatchObject({ code: 401 });
    bad.close();
  });

  it('answers validation errors as Status', async () => {
    const err = await client.create(cms(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    const status = err as StatusError; // checked just above
    expect(status.code).toBe(422);
    expect(status.message).toMatch(/^ConfigMap "Bad" is invalid/);
  });
});
