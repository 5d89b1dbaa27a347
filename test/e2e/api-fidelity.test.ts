/**
 * The api-server's answers look like Kubernetes' in the details clients
 * read: a kind with a status shows `status` from its creation on, and
 * boolean query parameters are read the way Kubernetes reads them, and
 * a watch-list (sendInitialEvents) ends its state with a bookmark.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '@kemu/api';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { api, k, namespace, parseJson } from './helpers.js';

let ns: string;

beforeAll(async () => {
  ns = await namespace('fidelity');
});

describe('status of a new object', () => {
  it('is {} for a Deployment kubectl creates (server-side dry run), absent for a ConfigMap', async () => {
    const d = parseJson<Deployment>(await k(['create', 'deployment', 'x', '--image=nginx', '--dry-run=server', '-o', 'json', '-n', ns]));
    expect(d.status).toEqual({});
    await k(['create', 'configmap', 'plain', '--from-literal=a=b', '-n', ns]);
    const cm = parseJson(await k(['get', 'configmap', 'plain', '-o', 'json', '-n', ns]));
    expect(cm).not.toHaveProperty('status');
  });

  it('is in what create answers and what get reads back', async () => {
    const body = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: {} };
    const created = await api('POST', `/api/v1/namespaces/${ns}/resourcequotas`, body);
    expect(created.status).toBe(201);
    expect(created.body).toHaveProperty('status');
    expect(JSON.parse(await k(['get', 'resourcequota', 'q', '-o', 'json', '-n', ns]))).toHaveProperty('status');
  });
});

describe('boolean query parameters', () => {
  it('watches for ?watch=True (the Python client) and lists for ?watch=0', async () => {
    await k(['create', 'configmap', 'w', '-n', ns]);
    const sel = 'fieldSelector=metadata.name%3Dw';
    const watched = await api('GET', `/api/v1/namespaces/${ns}/configmaps?watch=True&timeoutSeconds=1&${sel}`);
    expect(watched.status).toBe(200);
    expect(JSON.parse(watched.text.split('\n')[0])).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w' } } });
    const listed = await api('GET', `/api/v1/namespaces/${ns}/configmaps?watch=0&${sel}`);
    expect(listed.body).toMatchObject({ kind: 'ConfigMapList', items: [{ metadata: { name: 'w' } }] });
  });

  it('sends the state, then the bookmark that ends it, for sendInitialEvents=true (watch-list)', async () => {
    await k(['create', 'configmap', 'wl', '-n', ns]);
    const q = 'watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dwl';
    const r = await api('GET', `/api/v1/namespaces/${ns}/configmaps?${q}`);
    const events = r.text.trim().split('\n').map((l) => parseJson(l));
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'wl' } } });
    expect(events[1]).toMatchObject({ type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    const refused = await api<Status>('GET', `/api/v1/namespaces/${ns}/configmaps?watch=1&sendInitialEvents=true`);
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain('sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
  });
});
