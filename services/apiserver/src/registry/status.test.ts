import { describe, expect, it } from 'vitest';
import { lookupResource, type KubeObject } from '@kemu/api';
import type { EtcdStore } from '../storage/etcd-store.js';
import type { Admission } from './admission.js';
import { RestStore } from './rest.js';
import { withZeroStatus } from './status.js';

const res = (group: string, version: string, resource: string) => lookupResource(group, version, resource)!;
const obj = (extra: object = {}) => ({ metadata: { name: 'x', namespace: 'ns' }, ...extra }) as KubeObject;

describe('the status a kind shows before a controller writes one', () => {
  it.each([
    { kind: 'Deployment', info: res('apps', 'v1', 'deployments'), want: {} },
    { kind: 'ReplicaSet', info: res('apps', 'v1', 'replicasets'), want: { replicas: 0 } },
    {
      kind: 'DaemonSet',
      info: res('apps', 'v1', 'daemonsets'),
      want: { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
    },
    { kind: 'ReplicationController', info: res('', 'v1', 'replicationcontrollers'), want: { replicas: 0 } },
    { kind: 'ResourceQuota', info: res('', 'v1', 'resourcequotas'), want: {} },
    { kind: 'Ingress', info: res('networking.k8s.io', 'v1', 'ingresses'), want: { loadBalancer: {} } },
    { kind: 'Node', info: res('', 'v1', 'nodes'), want: {} },
  ])('$kind: $want', ({ info, want }) => {
    expect(withZeroStatus(info, obj()).status).toEqual(want);
  });

  it.each(['configmaps', 'secrets', 'serviceaccounts', 'endpoints', 'events', 'limitranges'])('%s: none', (r) => {
    expect(withZeroStatus(res('', 'v1', r), obj())).not.toHaveProperty('status');
  });

  it('keeps a written status and its order, adding only what Go would always encode', () => {
    const written = { readyReplicas: 2, replicas: 3 };
    const out = withZeroStatus(res('apps', 'v1', 'replicasets'), obj({ status: written })).status as object;
    expect(Object.entries(out)).toEqual([
      ['readyReplicas', 2],
      ['replicas', 3],
    ]);
  });
});

describe('RestStore: status on create and update', () => {
  const created: KubeObject[] = [];
  const store = {
    create(_key: string, o: KubeObject) {
      created.push(o);
      return Promise.resolve({ ok: true, rev: 5 });
    },
  } as unknown as EtcdStore;
  const admission = {
    async validateNamespace() {},
    defaultTolerationSeconds() {},
    limitRanges() {},
    serviceAccount() {},
    podSecurity: () => [],
    nodeRestriction: () => undefined,
    beforeCreate() {
      return { commit() {}, rollback() {} };
    },
  } as unknown as Admission;
  const rest = new RestStore(store, new Map(), admission);

  it('a created Deployment comes back (and is stored) with status {}', async () => {
    const body = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    } as KubeObject;
    const out = await rest.create(res('apps', 'v1', 'deployments'), 'ns', body);
    expect(out.status).toEqual({});
    expect(created.at(-1)!.status).toEqual({});
  });

  it('a created ConfigMap has no status', async () => {
    const out = await rest.create(res('', 'v1', 'configmaps'), 'ns', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } });
    expect(out).not.toHaveProperty('status');
  });

  it('an update of an object stored without a status gives it one', () => {
    const info = res('apps', 'v1', 'deployments');
    const cur = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'ns', uid: 'u', generation: 1, resourceVersion: '3' },
      spec: { replicas: 1 },
    } as KubeObject;
    expect(rest.merge(info, cur, structuredClone(cur)).status).toEqual({});
    expect(rest.merge(info, cur, structuredClone(cur), 'status').status).toEqual({});
  });
});
