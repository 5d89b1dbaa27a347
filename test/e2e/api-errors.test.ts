/**
 * Bad input gets a clear Kubernetes Status and leaves nothing half-written;
 * the api-server survives all of it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '@kemu/api';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap, ConfigMapList, Namespace, Service } from 'kubernetes-types/core/v1.js';
import { api, namespace } from './helpers.js';

let ns: string;
const cm = (name: string, data: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
const path = (rest = '') => `/api/v1/namespaces/${ns}/configmaps${rest}`;

beforeAll(async () => {
  ns = await namespace('errors');
});

describe('api-server errors', () => {
  it('needs credentials except for health and version', async () => {
    const r = await api('GET', '/api/v1/pods', undefined, { anonymous: true });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
    for (const p of ['/healthz', '/livez', '/readyz']) expect((await api('GET', p, undefined, { anonymous: true })).text).toBe('ok');
    expect((await api<{ gitVersion: string }>('GET', '/version', undefined, { anonymous: true })).body.gitVersion).toMatch(/^v1\.32\./);
    const badToken = await api('GET', '/api/v1/pods', undefined, { anonymous: true, headers: { Authorization: 'Bearer nope' } });
    expect(badToken.status).toBe(401);
  });

  it('answers 404 for unknown objects and paths', async () => {
    const r = await api('GET', path('/missing'));
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ reason: 'NotFound', message: 'configmaps "missing" not found', details: { name: 'missing', kind: 'configmaps' } });
    expect((await api('GET', '/apis/nope.example.com/v1/things')).status).toBe(404);
  });

  it('answers 409 AlreadyExists, and 409 Conflict for a stale resourceVersion', async () => {
    const created = await api<ConfigMap>('POST', path(), cm('dup'));
    expect(created.status).toBe(201);
    const again = await api('POST', path(), cm('dup'));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "dup" already exists' });
    const stale = created.body;
    expect((await api('PUT', path('/dup'), { ...stale, data: { v: '1' } })).status).toBe(200);
    const conflict = await api('PUT', path('/dup'), { ...stale, data: { v: '2' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on configmaps "dup": the object has been modified; please apply your changes to the latest version and try again',
    });
  });

  it('lets exactly one of many concurrent updates from the same version win', async () => {
    const base = (await api<ConfigMap>('POST', path(), cm('race'))).body;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => api<ConfigMap>('PUT', path('/race'), { ...base, data: { writer: String(i) } })));
    const codes = results.map((r) => r.status).sort();
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(19);
    const winner = results.find((r) => r.status === 200)!.body.data?.writer;
    expect((await api<ConfigMap>('GET', path('/race'))).body.data?.writer).toBe(winner);
  });

  it('answers 422 with every cause, and writes nothing', async () => {
    const r = await api<Status>('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bad' },
      spec: { replicas: -1, selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c' }] } } },
    });
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe('Invalid');
    expect(r.body.message).toMatch(/^Deployment\.apps "bad" is invalid: \[/);
    expect(r.body.details?.causes?.map((c) => c.field)).toEqual(
      expect.arrayContaining(['spec.replicas', 'spec.template.metadata.labels', 'spec.template.spec.containers[0].image']),
    );
    expect((await api('GET', `/apis/apps/v1/namespaces/${ns}/deployments/bad`)).status).toBe(404);
  });

  it('refuses bad names', async () => {
    for (const name of ['UPPER', 'has space', '-lead', 'a'.repeat(254)]) {
      const r = await api<Status>('POST', path(), cm(name));
      expect(r.status, name).toBe(422);
      expect(r.body.details?.causes?.[0].field).toBe('metadata.name');
    }
  });

  it('answers 400 for malformed bodies and selectors', async () => {
    expect((await api('POST', path(), undefined, { raw: '{"kind":' })).status).toBe(400);
    expect((await api('POST', path(), undefined, { raw: '[1,2]' })).status).toBe(400);
    const sel = await api('GET', path('?labelSelector=' + encodeURIComponent('a in (b')));
    expect(sel.status).toBe(400);
    const field = await api<Status>('GET', path('?fieldSelector=spec.nodeName%3Dx'));
    expect(field.status).toBe(400);
    expect(field.body.message).toBe('field label not supported: spec.nodeName');
  });

  it('answers 400 for deeply nested JSON and stays up', async () => {
    const deep = '{"metadata":{"name":"deep"},"data":' + '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000) + '}';
    const r = await api('POST', path(), undefined, { raw: deep });
    expect(r.status).toBe(400);
    expect((await api('GET', '/healthz')).text).toBe('ok');
  });

  it('answers 413 for a 4 MiB body', async () => {
    const big = cm('big', { blob: 'x'.repeat(4 * 1024 * 1024) });
    const r = await api<Status>('POST', path(), big);
    expect(r.status).toBe(413);
    expect(r.body.reason).toBe('RequestEntityTooLarge');
    expect((await api('GET', path('/big'))).status).toBe(404);
  });

  it('answers 415 for an unknown patch type', async () => {
    await api('POST', path(), cm('patchme'));
    const r = await api<Status>('PATCH', path('/patchme'), { data: { a: 'b' } }, { headers: { 'Content-Type': 'text/plain' } });
    expect(r.status).toBe(415);
    expect(r.body.reason).toBe('UnsupportedMediaType');
  });

  it('allocates distinct ClusterIPs under concurrency and refuses a taken one', async () => {
    const svc = (name: string, clusterIP?: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { ports: [{ port: 80 }], ...(clusterIP ? { clusterIP } : {}) },
    });
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => api<Service>('POST', `/api/v1/namespaces/${ns}/services`, svc(`s${i}`))));
    const ips = rs.map((r) => r.body.spec?.clusterIP);
    expect(new Set(ips).size).toBe(30);
    const taken = await api<Status>('POST', `/api/v1/namespaces/${ns}/services`, svc('taken', ips[0]));
    expect(taken.status).toBe(422);
    expect(taken.body.message).toContain('provided IP is already allocated');
    const out = await api('POST', `/api/v1/namespaces/${ns}/services`, svc('out', '192.168.1.1'));
    expect(out.status).toBe(422);
    // Deleting a Service frees its address for a new one.
    expect((await api('DELETE', `/api/v1/namespaces/${ns}/services/s0`)).status).toBe(200);
    expect((await api('POST', `/api/v1/namespaces/${ns}/services`, svc('reuse', ips[0]))).status).toBe(201);
  });

  it('pages with limit and continue', async () => {
    const pns = await namespace('paging');
    await Promise.all(Array.from({ length: 7 }, (_, i) => api('POST', `/api/v1/namespaces/${pns}/configmaps`, cm(`p${i}`))));
    const names: string[] = [];
    let cont = '';
    let pages = 0;
    do {
      const r = await api<ConfigMapList>('GET', `/api/v1/namespaces/${pns}/configmaps?limit=3${cont ? `&continue=${cont}` : ''}`);
      names.push(...r.body.items.map((i) => i.metadata?.name ?? ''));
      cont = r.body.metadata?.continue ?? '';
      pages++;
    } while (cont);
    expect(pages).toBe(3);
    // kube-root-ca.crt arrives in every namespace (the root CA publisher), sooner or later.
    expect(names.filter((n) => n !== 'kube-root-ca.crt')).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    expect((await api('GET', `/api/v1/namespaces/${pns}/configmaps?limit=3&continue=garbage`)).status).toBe(400);
  });

  it('creates with generateName and deletes a collection by label', async () => {
    const r = await api<ConfigMap>('POST', path(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-', labels: { batch: 'x' } } });
    expect(r.status).toBe(201);
    expect(r.body.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    await api('POST', path(), { ...cm('gen-other'), metadata: { name: 'gen-other', labels: { batch: 'x' } } });
    expect((await api('DELETE', path('?labelSelector=batch%3Dx'))).status).toBe(200);
    expect((await api<ConfigMapList>('GET', path('?labelSelector=batch%3Dx'))).body.items).toEqual([]);
  });

  it('refuses objects in a namespace that does not exist, and deleting system namespaces', async () => {
    const r = await api<Status>('POST', '/api/v1/namespaces/nowhere/configmaps', cm('x'));
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('namespaces "nowhere" not found');
    const d = await api<Status>('DELETE', '/api/v1/namespaces/kube-system');
    expect(d.status).toBe(403);
    expect(d.body.message).toBe('namespaces "kube-system" is forbidden: this namespace may not be deleted');
  });

  it('refuses a create in a terminating namespace with 403 and the NamespaceTerminating cause', async () => {
    const held = `held-${Math.random().toString(36).slice(2, 7)}`;
    // A finalizer of our own keeps the namespace Terminating until we finalize it.
    expect(
      (await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: held }, spec: { finalizers: ['example.com/hold'] } }))
        .status,
    ).toBe(201);
    expect((await api('DELETE', `/api/v1/namespaces/${held}`)).status).toBe(202); // kept by its finalizer
    const r = await api('POST', `/api/v1/namespaces/${held}/configmaps`, cm('late'));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({
      reason: 'Forbidden',
      message: `configmaps "late" is forbidden: unable to create new content in namespace ${held} because it is being terminated`,
      details: {
        name: 'late',
        kind: 'configmaps',
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${held} is being terminated`, field: 'metadata.namespace' }],
      },
    });
    const cur = (await api<Namespace>('GET', `/api/v1/namespaces/${held}`)).body;
    await api('PUT', `/api/v1/namespaces/${held}/finalize`, { ...cur, spec: { finalizers: [] } });
  });

  it('bumps generation on spec changes only, and keeps uid and creationTimestamp', async () => {
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gen' },
      spec: {
        selector: { matchLabels: { app: 'g' } },
        template: { metadata: { labels: { app: 'g' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    };
    const base = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const created = (await api<Deployment>('POST', base, d)).body;
    expect(created.metadata?.generation).toBe(1);
    const labelled = (
      await api<Deployment>('PATCH', `${base}/gen`, { metadata: { labels: { x: 'y' } } }, { headers: { 'Content-Type': 'application/merge-patch+json' } })
    ).body;
    expect(labelled.metadata?.generation).toBe(1);
    const scaled = (await api<Deployment>('PATCH', `${base}/gen`, { spec: { replicas: 3 } }, { headers: { 'Content-Type': 'application/merge-patch+json' } }))
      .body;
    expect(scaled.metadata?.generation).toBe(2);
    expect(scaled.metadata?.uid).toBe(created.metadata?.uid);
    expect(scaled.metadata?.creationTimestamp).toBe(created.metadata?.creationTimestamp);
    const scale = (await api('GET', `${base}/gen/scale`)).body;
    expect(scale).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 }, status: { selector: 'app=g' } });
  });
});
