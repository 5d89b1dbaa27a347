/** The official JavaScript client against kemu: list, watch/informer, create, replace, delete. */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctx, namespace, waitFor } from './helpers.js';

let ns: string;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  ns = await namespace('client-node');
  kc = new k8s.KubeConfig();
  kc.loadFromFile(ctx().kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
});

describe('@kubernetes/client-node', () => {
  let informer: k8s.Informer<k8s.V1ConfigMap> | undefined;
  afterAll(async () => {
    await informer?.stop();
  });

  it('creates, lists, replaces and deletes', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cn1' }, data: { a: '1' } } });
    expect(created.metadata?.uid).toBeTruthy();
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    expect(list.items.map((i) => i.metadata?.name)).toContain('cn1');
    const replaced = await core.replaceNamespacedConfigMap({ name: 'cn1', namespace: ns, body: { ...created, data: { a: '2' } } });
    expect(replaced.data).toEqual({ a: '2' });
    await core.deleteNamespacedConfigMap({ name: 'cn1', namespace: ns });
    await expect(core.readNamespacedConfigMap({ name: 'cn1', namespace: ns })).rejects.toMatchObject({ code: 404 });
  });

  it('keeps an informer in sync through add, update and delete', async () => {
    const seen: string[] = [];
    informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns }));
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.data?.v}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'inf' }, data: { v: '1' } } });
    await waitFor('add', () => seen.includes('add inf'));
    await core.patchNamespacedConfigMap(
      { name: 'inf', namespace: ns, body: { data: { v: '2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitFor('update', () => seen.includes('update inf 2'));
    await core.deleteNamespacedConfigMap({ name: 'inf', namespace: ns });
    await waitFor('delete', () => seen.includes('delete inf'));
  });

  it('watches with the Watch helper', async () => {
    const events: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      {},
      (type: string, obj: k8s.V1ConfigMap) => events.push(`${type} ${obj.metadata?.name}`),
      () => undefined,
    );
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'w1' } } });
    await waitFor('ADDED w1', () => events.includes('ADDED w1'));
    req.abort();
  });
});
