import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '@kemu/api';
import type { InformerFactory } from '@kemu/client';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../context.js';
import type { Obj } from '../typed.js';
import { FakeApi } from '../testing/fake-api.js';
import { controllerRef, workload, type WorkloadOpts } from '../testing/workload-fixtures.js';
import { ReplicaController, replicaSetKind, replicationControllerKind } from './replica-core.js';
import { DeploymentController } from './deployment.js';
import { NamespaceController } from './namespace.js';
import { GarbageCollector } from './garbage-collector.js';
import { ServiceAccountController } from './serviceaccount.js';
import { NodeIpamController } from './node-ipam.js';
import { PodGcController } from './podgc.js';
import { templateHash } from './deployment-util.js';
import { DaemonSetController, shouldRun } from './daemonset.js';
import { ResourceQuotaController } from './resourcequota.js';
import { nodeHealth, probe } from './nodelifecycle.js';

let factory: InformerFactory | undefined;
afterEach(() => factory?.stop());

const rs = (replicas: number, uid = 'rs-uid') => workload('ReplicaSet', { metadata: { uid, generation: 1 }, replicas });
const pod = (name: string, o: { owner?: string; node?: string; ready?: boolean; created?: string; labels?: Record<string, string> } = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'ns',
    labels: o.labels ?? { app: 'web' },
    creationTimestamp: o.created,
    ...(o.owner ? { ownerReferences: [controllerRef('ReplicaSet', 'web', o.owner)] } : {}),
  },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...(o.node ? { nodeName: o.node } : {}) },
  status: { phase: o.node ? 'Running' : 'Pending', conditions: o.ready ? [{ type: 'Ready', status: 'True' }] : [] },
});

async function setup(api: FakeApi, make: (ctx: ReturnType<FakeApi['context']>['ctx']) => { sync(key: string): Promise<void> }) {
  const { ctx, informers } = api.context();
  const c = make(ctx);
  factory = informers;
  await informers.start();
  return c;
}

describe('ReplicaSet controller', () => {
  it('adopts matching orphans, creates the difference and writes status', async () => {
    const api = new FakeApi();
    api.seed(R.replicasets, rs(3));
    api.seed(R.pods, pod('owned', { owner: 'rs-uid' }));
    api.seed(R.pods, pod('orphan'));
    api.seed(R.pods, pod('other', { labels: { app: 'db' } }));
    const c = await setup(api, (ctx) => new ReplicaController(ctx, replicaSetKind));
    await c.sync('ns/web');
    const w = api.writes();
    expect(w.filter((x) => x.verb === 'patch' && x.name === 'orphan')).toHaveLength(1);
    const creates = w.filter((x) => x.verb === 'create' && x.resource === 'pods');
    expect(creates).toHaveLength(1);
    const created = creates[0].body as KubeObject;
    expect(created.metadata.generateName).toBe('web-');
    expect(created.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: 'web', uid: 'rs-uid', controller: true });
    const status = w.find((x) => x.verb === 'update' && x.subresource === 'status')!.body as KubeObject;
    expect(status.status).toMatchObject({ replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 0, observedGeneration: 1 });
  });

  it('does not create twice before the cache has seen its creations (expectations)', async () => {
    const api = new FakeApi();
    api.seed(R.replicasets, rs(2));
    const c = await setup(api, (ctx) => new ReplicaController(ctx, replicaSetKind));
    await c.sync('ns/web');
    await c.sync('ns/web');
    expect(api.writes({ verb: 'create' })).toHaveLength(2);
  });

  it('deletes surplus pods: unscheduled, then not ready, then newer first', async () => {
    const api = new FakeApi();
    api.seed(R.replicasets, rs(1));
    api.seed(R.pods, pod('ready-old', { owner: 'rs-uid', node: 'n1', ready: true, created: '2026-01-01T00:00:00Z' }));
    api.seed(R.pods, pod('ready-new', { owner: 'rs-uid', node: 'n1', ready: true, created: '2026-01-02T00:00:00Z' }));
    api.seed(R.pods, pod('unscheduled', { owner: 'rs-uid' }));
    const c = await setup(api, (ctx) => new ReplicaController(ctx, replicaSetKind));
    await c.sync('ns/web');
    expect(api.written({ verb: 'delete' }).sort()).toEqual(['ready-new', 'unscheduled']);
  });

  it('reports FailedCreate when creation is refused, and retries', async () => {
    const api = new FakeApi();
    api.seed(R.replicationcontrollers, {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'rc', namespace: 'ns', uid: 'rc-uid' },
      spec: { replicas: 2, selector: { app: 'rc' }, template: { metadata: { labels: { app: 'rc' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    const { ctx, informers } = api.context();
    const client = ctx.client;
    const orig = client.create.bind(client);
    client.create = async (r, obj, o) => {
      if (r.resource === 'pods')
        throw Object.assign(new Error('pods "rc-x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=3, limited: pods=3'), { code: 403 });
      return orig(r, obj, o);
    };
    const c = new ReplicaController(ctx, replicationControllerKind);
    factory = informers;
    await informers.start();
    await expect(c.sync('ns/rc')).rejects.toThrow(/exceeded quota/);
    const ev = api.calls.find((x) => x.resource === 'events')!.body as KubeObject;
    expect(ev).toMatchObject({
      reason: 'FailedCreate',
      type: 'Warning',
      message: 'Error creating: pods "rc-x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=3, limited: pods=3',
    });
  });
});

/** The ReplicaSet Deployment `web` made at revision 1, of its older template (image nginx:1). */
const revisionOne = (replicas: number, o: { uid?: string; status?: WorkloadOpts['status'] } = {}) =>
  workload('ReplicaSet', {
    metadata: {
      name: 'web-old',
      ...(o.uid ? { uid: o.uid } : {}),
      labels: { app: 'web' },
      annotations: { 'deployment.kubernetes.io/revision': '1' },
      ownerReferences: [controllerRef('Deployment', 'web', 'd-uid')],
    },
    image: 'nginx:1',
    replicas,
    status: o.status,
  });

describe('Deployment controller', () => {
  const d = (image: string, replicas = 4) =>
    workload('Deployment', {
      metadata: { uid: 'd-uid', generation: 2 },
      image,
      replicas,
      spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } }, revisionHistoryLimit: 10 },
    });

  it('creates a ReplicaSet named after the template hash, with revision 1', async () => {
    const api = new FakeApi();
    api.seed(R.deployments, d('nginx:1'));
    const c = await setup(api, (ctx) => new DeploymentController(ctx));
    await c.sync('ns/web');
    const created = api.writes({ verb: 'create', resource: 'replicasets' })[0].body as Obj<ReplicaSet>;
    const hash = templateHash(d('nginx:1').spec?.template);
    expect(created.metadata.name).toBe(`web-${hash}`);
    expect(created.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(created.spec?.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(created.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(created.spec?.replicas).toBe(4);
    // The Deployment's revision goes with its status, as Kubernetes writes it: a write of the main resource would bump its generation.
    const deploymentWrites = api.writes({ resource: 'deployments' });
    expect(deploymentWrites.map((x) => [x.verb, x.subresource])).toEqual([['update', 'status']]);
    expect((deploymentWrites[0].body as KubeObject).metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '1' });
  });

  it('rolls: surges the new ReplicaSet by maxSurge and scales the old one down within maxUnavailable', async () => {
    const api = new FakeApi();
    api.seed(R.deployments, d('nginx:2'));
    api.seed(R.replicasets, revisionOne(4, { status: { replicas: 4, readyReplicas: 4, availableReplicas: 4 } }));
    const c = await setup(api, (ctx) => new DeploymentController(ctx));
    await c.sync('ns/web');
    const created = api.writes({ verb: 'create', resource: 'replicasets' })[0].body as Obj<ReplicaSet>;
    expect(created.spec?.replicas).toBe(1); // 4 + maxSurge 1 - 4 existing
    expect(created.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    const scaleDown = api.writes({ verb: 'patch', name: 'web-old' })[0].body as ReplicaSet;
    expect(scaleDown.spec?.replicas).toBe(3); // keeps 4 - maxUnavailable available
  });
});

describe('Deployment controller: Recreate', () => {
  it('scales the old ReplicaSet to zero before the new one comes up', async () => {
    const api = new FakeApi();
    api.seed(
      R.deployments,
      workload('Deployment', { metadata: { uid: 'd-uid', generation: 2 }, image: 'nginx:2', replicas: 2, spec: { strategy: { type: 'Recreate' } } }),
    );
    api.seed(R.replicasets, revisionOne(2, { uid: 'old-uid' }));
    api.seed(R.pods, { ...pod('old-pod', { owner: 'old-uid', node: 'n1', ready: true }) });
    const c = await setup(api, (ctx) => new DeploymentController(ctx));
    await c.sync('ns/web');
    const created = api.writes({ verb: 'create', resource: 'replicasets' })[0].body as ReplicaSet;
    expect(created.spec?.replicas).toBe(0); // old pods still there
    expect(api.writes({ verb: 'patch', name: 'web-old' })[0].body).toMatchObject({ spec: { replicas: 0 } });
  });
});

describe('namespace controller', () => {
  it('empties a terminating namespace, then finalizes and deletes it', async () => {
    const api = new FakeApi();
    api.seed(R.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'gone', deletionTimestamp: '2026-01-01T00:00:00Z' },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Terminating' },
    });
    api.seed({ version: 'v1', resource: 'configmaps' }, { metadata: { name: 'cm', namespace: 'gone' } });
    const c = await setup(api, (ctx) => new NamespaceController(ctx));
    await c.sync('gone');
    expect(api.writes().map((x) => `${x.verb} ${x.resource} ${x.name}`)).toEqual(['delete configmaps cm']);
    api.calls = [];
    await c.sync('gone');
    expect(api.writes().map((x) => `${x.verb} ${x.resource} ${x.name} ${x.subresource ?? ''}`.trim())).toEqual([
      'update namespaces gone finalize',
      'delete namespaces gone',
    ]);
  });
});

describe('garbage collector', () => {
  it('deletes a dependent whose owner is gone', async () => {
    const api = new FakeApi();
    api.seed(R.pods, pod('dangling', { owner: 'missing-uid' }));
    const c = await setup(api, (ctx) => new GarbageCollector(ctx));
    await c.sync('dep|Pod|ns/dangling');
    expect(api.writes().map((x) => `${x.verb} ${x.name}`)).toEqual(['delete dangling']);
    expect((api.writes()[0].body as { propagationPolicy: string }).propagationPolicy).toBe('Background');
  });
  it('orphans dependents, then drops the orphan finalizer', async () => {
    const api = new FakeApi();
    api.seed(R.replicasets, { ...rs(1), metadata: { ...rs(1).metadata, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['orphan'] } });
    api.seed(R.pods, pod('child', { owner: 'rs-uid' }));
    const c = await setup(api, (ctx) => new GarbageCollector(ctx));
    await c.sync('own|ReplicaSet|ns/web');
    const w = api.writes();
    expect(w[0]).toMatchObject({ verb: 'patch', name: 'child', body: { metadata: { ownerReferences: null } } });
    expect(w[1]).toMatchObject({ verb: 'patch', name: 'web', body: { metadata: { finalizers: null } } });
  });
  it("deletes a foreground owner's dependents: Background for a leaf, Foreground for one with dependents of its own", async () => {
    const api = new FakeApi();
    api.seed(R.replicasets, { ...rs(1), metadata: { ...rs(1).metadata, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] } });
    api.seed(R.replicasets, {
      ...rs(1, 'rs2-uid'),
      metadata: {
        ...rs(1, 'rs2-uid').metadata,
        name: 'mid',
        ownerReferences: [controllerRef('ReplicaSet', 'web', 'rs-uid')],
      },
    });
    api.seed(R.pods, pod('leaf', { owner: 'rs-uid' }));
    api.seed(R.pods, pod('grandchild', { owner: 'rs2-uid' }));
    const c = await setup(api, (ctx) => new GarbageCollector(ctx));
    await c.sync('own|ReplicaSet|ns/web');
    const policies = Object.fromEntries(api.writes({ verb: 'delete' }).map((w) => [w.name, (w.body as { propagationPolicy: string }).propagationPolicy]));
    expect(policies).toEqual({ leaf: 'Background', mid: 'Foreground' });
  });
  it('leaves alone a dependent whose owner exists', async () => {
    const api = new FakeApi();
    api.seed(R.replicasets, rs(1));
    api.seed(R.pods, pod('child', { owner: 'rs-uid' }));
    const c = await setup(api, (ctx) => new GarbageCollector(ctx));
    await c.sync('dep|Pod|ns/child');
    expect(api.writes()).toEqual([]);
  });
});

describe('small controllers', () => {
  it('serviceaccount: creates default in an active namespace only', async () => {
    const api = new FakeApi();
    api.seed(R.namespaces, { metadata: { name: 'a' } });
    api.seed(R.namespaces, { metadata: { name: 'b', deletionTimestamp: '2026-01-01T00:00:00Z' } });
    const c = await setup(api, (ctx) => new ServiceAccountController(ctx));
    await c.sync('a');
    await c.sync('b');
    expect(api.writes().map((x) => `${x.verb} ${x.namespace}/${x.name}`)).toEqual(['create a/default']);
  });
  it('nodeipam: gives the first free /24', async () => {
    const api = new FakeApi();
    api.seed(R.nodes, { metadata: { name: 'n1' }, spec: { podCIDR: '10.244.0.0/24' } });
    api.seed(R.nodes, { metadata: { name: 'n2' }, spec: {} });
    const c = await setup(api, (ctx) => new NodeIpamController(ctx));
    await c.sync('n2');
    expect(api.writes()[0]).toMatchObject({ verb: 'patch', name: 'n2', body: { spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] } } });
  });
  it('podgc: force-deletes pods bound to a node that is gone', async () => {
    const api = new FakeApi();
    api.seed(R.pods, pod('lost', { node: 'gone-node' }));
    const c = await setup(api, (ctx) => new PodGcController(ctx));
    await c.sync('ns/lost');
    expect(api.writes()[0]).toMatchObject({ verb: 'delete', name: 'lost', body: { gracePeriodSeconds: 0 } });
  });
  describe('podgc: terminating pods on an out-of-service node (gcTerminating)', () => {
    const outOfService = { key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' };
    const node = (ready: boolean, taints: object[]) => ({
      metadata: { name: 'n1' },
      spec: { taints },
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown' }] },
    });
    const terminating = (name: string) => {
      const p = pod(name, { node: 'n1' });
      return { ...p, metadata: { ...p.metadata, uid: `${name}-uid`, deletionTimestamp: '2026-11-29T00:00:00Z', deletionGracePeriodSeconds: 30 } };
    };
    it.each([
      ['not Ready, tainted out-of-service: marked Failed, then deleted at once', false, [outOfService], true, true],
      ['Ready and tainted: its kubelet finishes the pod', true, [outOfService], true, false],
      ['not Ready, without the taint: it may come back', false, [], true, false],
      ['a pod not terminating is left to the taint manager', false, [outOfService], false, false],
    ])('%s', async (_n, ready, taints, isTerminating, deleted) => {
      const api = new FakeApi();
      api.seed(R.nodes, node(ready, taints));
      api.seed(R.pods, isTerminating ? terminating('stuck') : pod('stuck', { node: 'n1' }));
      const c = await setup(api, (ctx) => new PodGcController(ctx));
      await c.sync('ns/stuck');
      const w = api.writes();
      if (!deleted) return expect(w).toEqual([]);
      expect(w.map((x) => [x.verb, x.subresource ?? ''])).toEqual([
        ['patch', 'status'],
        ['delete', ''],
      ]);
      expect(w[0]).toMatchObject({ name: 'stuck', body: { status: { phase: 'Failed' } } });
      expect(w[1]).toMatchObject({ name: 'stuck', body: { gracePeriodSeconds: 0, preconditions: { uid: 'stuck-uid' } } });
    });
  });
});

describe('DaemonSet placement', () => {
  const ds = (spec: object = {}) => ({ metadata: { name: 'd' }, spec: { template: { spec: { containers: [], ...spec } } } }) as never;
  const node = (labels: Record<string, string> = {}, taints: object[] = [], extra: object = {}) =>
    ({ metadata: { name: 'n', labels }, spec: { taints, ...extra } }) as never;
  it.each([
    ['a plain node', ds(), node(), true],
    ['a cordoned node (tolerated, as Kubernetes)', ds(), node({}, [], { unschedulable: true }), true],
    ['an untolerated NoSchedule taint', ds(), node({}, [{ key: 'gpu', effect: 'NoSchedule' }]), false],
    ['a tolerated taint', ds({ tolerations: [{ key: 'gpu', operator: 'Exists' }] }), node({}, [{ key: 'gpu', effect: 'NoSchedule' }]), true],
    ['a not-ready node (default toleration)', ds(), node({}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }]), true],
    ['a nodeSelector miss', ds({ nodeSelector: { role: 'edge' } }), node({ role: 'core' }), false],
    ['a nodeSelector hit', ds({ nodeSelector: { role: 'edge' } }), node({ role: 'edge' }), true],
  ])('%s', (_n, d, n, want) => {
    expect(shouldRun(d, n)).toBe(want);
  });
});

describe('DaemonSet controller', () => {
  it('creates one pod per admitted node, pinned to it, and removes pods from nodes it may not run on', async () => {
    const api = new FakeApi();
    api.seed(R.daemonsets, workload('DaemonSet', { metadata: { name: 'agent', uid: 'ds-uid', generation: 1 }, app: 'agent', container: 'a', image: 'x' }));
    api.seed(R.nodes, { metadata: { name: 'n1' }, spec: {} });
    api.seed(R.nodes, { metadata: { name: 'n2' }, spec: {} });
    api.seed(R.nodes, { metadata: { name: 'tainted' }, spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } });
    api.seed(R.pods, {
      ...pod('stray', { node: 'tainted', labels: { app: 'agent' } }),
      metadata: {
        ...pod('stray').metadata,
        labels: { app: 'agent' },
        ownerReferences: [controllerRef('DaemonSet', 'agent', 'ds-uid')],
      },
    });
    const c = await setup(api, (ctx) => new DaemonSetController(ctx));
    await c.sync('ns/agent');
    const creates = api
      .writes({ verb: 'create', resource: 'pods' })
      .map((x) => (x.body as Pod).spec?.nodeName)
      .sort();
    expect(creates).toEqual(['n1', 'n2']);
    expect(api.written({ verb: 'delete' })).toEqual(['stray']);
    const status = api.writes({ subresource: 'status' })[0].body as KubeObject;
    expect(status.status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 0, numberMisscheduled: 1 });
  });
});

describe('ResourceQuota controller', () => {
  it('writes hard and used', async () => {
    const api = new FakeApi();
    api.seed(
      { version: 'v1', resource: 'resourcequotas' },
      { metadata: { name: 'q', namespace: 'ns' }, spec: { hard: { pods: '5', 'requests.cpu': '2', configmaps: '3' } } },
    );
    api.seed(R.pods, { ...pod('a'), spec: { containers: [{ name: 'c', resources: { requests: { cpu: '500m' } } }] } });
    api.seed(R.pods, { ...pod('b'), spec: { containers: [{ name: 'c', resources: { requests: { cpu: '250m' } } }] } });
    api.seed({ version: 'v1', resource: 'configmaps' }, { metadata: { name: 'cm', namespace: 'ns' } });
    const c = await setup(api, (ctx) => new ResourceQuotaController(ctx));
    await c.sync('ns/q');
    expect((api.writes({ subresource: 'status' })[0].body as KubeObject).status).toEqual({
      hard: { pods: '5', 'requests.cpu': '2', configmaps: '3' },
      used: { configmaps: '1', pods: '2', 'requests.cpu': '750m' },
    });
  });
});

describe('event recorder', () => {
  it('counts repeats on one Event instead of making new ones', async () => {
    const api = new FakeApi();
    const { ctx } = api.context();
    const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'u' } };
    await ctx.recorder.event(obj, 'Warning', 'FailedScheduling', 'no room');
    await ctx.recorder.event(obj, 'Warning', 'FailedScheduling', 'no room');
    await ctx.recorder.event(obj, 'Warning', 'FailedScheduling', 'no room');
    const calls = api.calls.filter((x) => x.resource === 'events');
    expect(calls.map((x) => x.verb)).toEqual(['create', 'patch', 'patch']);
    expect(calls[2].body).toMatchObject({ count: 3 });
  });
});

describe('node lifecycle', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  const node = (ready: string, heartbeat: string, taints: object[] = []) =>
    ({ metadata: { name: 'n' }, spec: { taints }, status: { conditions: [{ type: 'Ready', status: ready, lastHeartbeatTime: heartbeat }] } }) as never;
  const lease = (renew: string) => ({ metadata: { name: 'n' }, spec: { renewTime: renew } }) as never;
  it('leaves a node seen alive within the grace period alone', () => {
    expect(nodeHealth(node('True', '2026-01-01T00:00:00Z'), now - 10_000, now)).toEqual({ conditions: undefined, taints: [] });
  });
  it('sees a node alive when its lease or heartbeat moves, and a node met for the first time as alive now', () => {
    const first = probe(undefined, node('True', '2026-01-01T00:00:00Z'), lease('2026-01-01T00:00:00Z'), now);
    expect(first.at).toBe(now);
    expect(probe(first, node('True', '2026-01-01T00:00:00Z'), lease('2026-01-01T00:00:00Z'), now + 5000)).toBe(first);
    expect(probe(first, node('True', '2026-01-01T00:00:00Z'), lease('2026-01-01T00:10:01Z'), now + 5000).at).toBe(now + 5000);
    expect(probe(first, node('True', '2026-01-01T00:10:02Z'), lease('2026-01-01T00:00:00Z'), now + 6000).at).toBe(now + 6000);
  });
  it('marks a silent node Unknown and taints it unreachable', () => {
    const h = nodeHealth(node('True', '2026-01-01T00:00:00Z'), now - 60_000, now);
    expect(h.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    expect(h.taints.map((t) => `${t.key}:${t.effect}`)).toEqual(['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
  });
  it('takes the taints away when the kubelet is back', () => {
    const h = nodeHealth(
      node('True', '2026-01-01T00:09:59Z', [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
        { key: 'gpu', effect: 'NoSchedule' },
      ]),
      now - 1000,
      now,
    );
    expect(h.taints).toEqual([{ key: 'gpu', effect: 'NoSchedule' }]);
  });
});
