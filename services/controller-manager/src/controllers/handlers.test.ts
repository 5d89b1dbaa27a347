/**
 * Event handlers → queue → expectations: the fake api delivers watch events,
 * so these tests see what a controller does with what its informers report.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '@kemu/api';
import { WorkQueue, type InformerFactory, type Lister } from '@kemu/client';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../context.js';
import type { Obj } from '../typed.js';
import { FakeApi } from '../testing/fake-api.js';
import { controllerRef, workload } from '../testing/workload-fixtures.js';
import { ReplicaController, replicaSetKind } from './replica-core.js';
import { DaemonSetController } from './daemonset.js';
import { templateHash } from './deployment-util.js';

let factory: InformerFactory | undefined;
afterEach(() => {
  factory?.stop();
  vi.restoreAllMocks();
});

/** Poll (no fixed sleep) until `cond` holds, or fail after a deadline. */
async function until(what: string, cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

type Ctx = ReturnType<FakeApi['context']>['ctx'];
async function start<T>(api: FakeApi, make: (ctx: Ctx) => T): Promise<{ c: T; informers: InformerFactory; ctx: Ctx }> {
  const { ctx, informers } = api.context();
  const c = make(ctx);
  factory = informers;
  await informers.start();
  return { c, informers, ctx };
}

/** Wait until an informer's cache holds this exact version of an object. */
const cached = (lister: Lister, o: KubeObject) =>
  until(
    `${o.metadata.name}@${o.metadata.resourceVersion} in cache`,
    () => lister.getNamed(o.metadata.namespace, o.metadata.name!)?.metadata.resourceVersion === o.metadata.resourceVersion,
  );
const gone = (lister: Lister, o: KubeObject) => until(`${o.metadata.name} gone from cache`, () => !lister.getNamed(o.metadata.namespace, o.metadata.name!));

const rs = (replicas: number) => workload('ReplicaSet', { metadata: { uid: 'rs-uid', generation: 1 }, replicas });
const runningPod = (
  name: string,
  created: string,
  owner: { kind: 'ReplicaSet' | 'DaemonSet'; name: string; uid: string },
  labels: Record<string, string>,
  node = 'n1',
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns', labels, creationTimestamp: created, ownerReferences: [controllerRef(owner.kind, owner.name, owner.uid)] },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'nginx' }] },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
});
const rsPod = (name: string, created: string) => runningPod(name, created, { kind: 'ReplicaSet', name: 'web', uid: 'rs-uid' }, { app: 'web' });

describe('ReplicaSet controller: pod events and expectations', () => {
  const setup = async (replicas: number, pods: string[]) => {
    const api = new FakeApi();
    api.seed(R.replicasets, rs(replicas));
    pods.forEach((name, i) => api.seed(R.pods, rsPod(name, `2026-01-0${i + 1}T00:00:00Z`)));
    const { c, informers, ctx } = await start(api, (x) => new ReplicaController(x, replicaSetKind));
    const rsLister = informers.for(R.replicasets).lister;
    const podLister = informers.for(R.pods).lister;
    const scale = async (n: number) => cached(rsLister, api.seed(R.replicasets, { ...api.objects.get('replicasets/ns/web')!, spec: { ...rs(n).spec } }));
    const creates = () => api.writes({ verb: 'create', resource: 'pods' }).length;
    const deletes = () => api.written({ verb: 'delete' });
    return { api, c, client: ctx.client, podLister, scale, creates, deletes };
  };

  it('counts a pod marked for deletion as deleted, so a scale-up right after a scale-down does not wait for the kubelet', async () => {
    const { api, c, podLister, scale, creates, deletes } = await setup(2, ['old', 'new']);
    await scale(1);
    await c.sync('ns/web');
    expect(deletes()).toEqual(['new']);
    // The api-server only marks a bound pod; its node (here: gone) would remove it later.
    await cached(podLister, api.objects.get('pods/ns/new')!);
    await scale(2);
    await c.sync('ns/web');
    expect(creates()).toBe(1);
  });

  it('does not count a pod twice when it is seen marked and then removed', async () => {
    const { api, c, client, podLister, scale, deletes } = await setup(3, ['a', 'b', 'c']);
    await scale(2);
    await c.sync('ns/web');
    expect(deletes()).toEqual(['c']);
    await cached(podLister, api.objects.get('pods/ns/c')!);
    // The next deletion is accepted, but its watch event is late.
    const realDelete = client.delete.bind(client);
    client.delete = async (r, name, o) => {
      if (name !== 'b') return realDelete(r, name, o);
      api.calls.push({ verb: 'delete', resource: r.resource, namespace: r.namespace, name, body: o });
      return api.objects.get('pods/ns/b')!;
    };
    await scale(1);
    await c.sync('ns/web');
    expect(deletes()).toEqual(['c', 'b']);
    // The kubelet finishes c: that deletion was already counted; b's is still awaited.
    const removed = api.remove(R.pods, 'ns', 'c')!;
    await gone(podLister, removed);
    await c.sync('ns/web');
    expect(deletes()).toEqual(['c', 'b']);
  });
});

describe('DaemonSet controller: node and pod events', () => {
  const ds = workload('DaemonSet', { metadata: { name: 'agent', uid: 'ds-uid', generation: 2 }, app: 'agent', container: 'a', image: 'x:2' });
  const node = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-01-01T00:00:00Z' }] },
    ...extra,
  });
  const dsPod = (name: string, hash: string) =>
    runningPod(name, '2026-01-01T00:00:00Z', { kind: 'DaemonSet', name: 'agent', uid: 'ds-uid' }, { app: 'agent', 'controller-revision-hash': hash });

  it('replaces a pod marked for deletion at once in a rolling update, without waiting for the kubelet', async () => {
    const api = new FakeApi();
    api.seed(R.daemonsets, ds);
    api.seed(R.nodes, node('n1'));
    api.seed(R.pods, dsPod('agent-old', 'old-hash'));
    const { c, informers } = await start(api, (ctx) => new DaemonSetController(ctx));
    await c.sync('ns/agent');
    expect(api.written({ verb: 'delete' })).toEqual(['agent-old']);
    await cached(informers.for(R.pods).lister, api.objects.get('pods/ns/agent-old')!);
    await c.sync('ns/agent');
    const created = api.writes({ verb: 'create', resource: 'pods' }).map((x) => x.body as Obj<Pod>);
    expect(created.map((p) => [p.spec?.nodeName, p.metadata.labels?.['controller-revision-hash']])).toEqual([['n1', templateHash(ds.spec?.template)]]);
  });

  it('re-syncs DaemonSets when what places pods on a node changes, not on a status heartbeat', async () => {
    const api = new FakeApi();
    api.seed(R.daemonsets, ds);
    api.seed(R.nodes, node('n1'));
    const { informers } = await start(api, (ctx) => new DaemonSetController(ctx));
    const nodes = informers.for(R.nodes).lister;
    const add = vi.spyOn(WorkQueue.prototype, 'add');
    const change = async (f: (n: Obj<Node>) => Obj<Node>) => {
      add.mockClear();
      await cached(nodes, api.seed(R.nodes, f(structuredClone(api.objects.get('nodes//n1')!) as Obj<Node>)));
      return add.mock.calls.filter(([k]) => k === 'ns/agent').length;
    };
    expect(await change((n) => ({ ...n, status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-01-01T00:00:40Z' }] } }))).toBe(0);
    expect(await change((n) => ({ ...n, metadata: { ...n.metadata, annotations: { note: 'x' } } }))).toBe(0);
    expect(await change((n) => ({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, role: 'edge' } } }))).toBe(1);
    expect(await change((n) => ({ ...n, spec: { ...n.spec, taints: [{ key: 'k', effect: 'NoSchedule' }] } }))).toBe(1);
    expect(await change((n) => ({ ...n, spec: { ...n.spec, unschedulable: true } }))).toBe(1);
  });
});
