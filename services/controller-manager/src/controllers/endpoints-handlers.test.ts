/**
 * The Endpoints, EndpointSlice and mirroring controllers running on the fake
 * api: its watch events drive their handlers, so these tests see what a user
 * sees — objects appearing and changing — after pods and Services change.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StatusError, type KubeObject } from '@kemu/api';
import { WorkQueue } from '@kemu/client';
import type { Endpoints, Pod } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { R, type Controller } from '../context.js';
import { FakeApi } from '../testing/fake-api.js';
import { stopRunning, trackRunning, until } from '../testing/running.js';
import { node, pod, service } from '../testing/endpoint-fixtures.js';
import { toKube } from './endpoint-util.js';
import { EndpointsController } from './endpoints.js';
import { EndpointSliceController } from './endpointslice.js';
import { EndpointSliceMirroringController } from './endpointslice-mirroring.js';

afterEach(() => {
  stopRunning();
  vi.restoreAllMocks();
});

/** A fake cluster with nodes n1, n2 and the three controllers running. */
async function cluster(seed: (api: FakeApi) => void = () => {}, run = true) {
  const api = new FakeApi();
  api.seed(R.nodes, toKube(node('n1')));
  api.seed(R.nodes, toKube(node('n2')));
  seed(api);
  const { ctx, informers } = api.context();
  const controllers: (Controller & { sync(key: string): Promise<void> })[] = [
    new EndpointsController(ctx),
    new EndpointSliceController(ctx, { sliceChangeDelayMs: 0 }),
    new EndpointSliceMirroringController(ctx),
  ];
  await informers.start();
  const ac = new AbortController();
  trackRunning(informers, ac);
  if (run) for (const c of controllers) void c.run(2, ac.signal);
  const get = <T>(resource: string, name: string) => api.objects.get(`${resource}/ns/${name}`) as T | undefined;
  const slices = (svc: string) =>
    [...api.objects.values()].filter((o) => o.metadata.labels?.['kubernetes.io/service-name'] === svc && o.kind === 'EndpointSlice') as EndpointSlice[];
  const readyIPs = (name: string) => (get<Endpoints>('endpoints', name)?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
  const notReadyIPs = (name: string) => (get<Endpoints>('endpoints', name)?.subsets ?? []).flatMap((s) => (s.notReadyAddresses ?? []).map((a) => a.ip)).sort();
  const sliceReady = (svc: string) =>
    slices(svc)
      .flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready).flatMap((e) => e.addresses))
      .sort();
  const put = (p: Pod) => api.seed(R.pods, toKube(p));
  return { api, ctx, controllers, get, slices, readyIPs, notReadyIPs, sliceReady, put };
}

/** A deadline for the work of 130 pods on a shared, loaded machine (it takes 2-8 s there), not a measure of it. */
const SLOW = 20_000;

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

describe('endpoints controllers: pod and Service events', () => {
  it('a pod becoming ready moves its address from notReadyAddresses to addresses, and into the slice as ready', async () => {
    const c = await cluster((api) => {
      api.seed(R.services, toKube(service()));
      api.seed(R.pods, toKube(pod('a', { ip: '10.244.1.5', ready: false })));
    });
    await until('not-ready address', () => same(c.notReadyIPs('web'), ['10.244.1.5']));
    expect(c.readyIPs('web')).toEqual([]);
    c.put(pod('a', { ip: '10.244.1.5' }));
    await until('ready address', () => same(c.readyIPs('web'), ['10.244.1.5']));
    await until('ready endpoint in slice', () => same(c.sliceReady('web'), ['10.244.1.5']));
    expect(c.notReadyIPs('web')).toEqual([]);
  });

  it('a pod marked not ready by node lifecycle leaves the ready addresses at once', async () => {
    const c = await cluster((api) => {
      api.seed(R.services, toKube(service()));
      api.seed(R.pods, toKube(pod('a', { ip: '10.244.1.5' })));
      api.seed(R.pods, toKube(pod('b', { ip: '10.244.2.5', node: 'n2' })));
    });
    await until('both ready', () => same(c.readyIPs('web'), ['10.244.1.5', '10.244.2.5']));
    // What the node lifecycle controller writes when n2 stops reporting: Ready False, nothing else.
    const b = structuredClone(c.api.objects.get('pods/ns/b')!) as Pod;
    b.status!.conditions = [{ type: 'Ready', status: 'False', lastTransitionTime: '2026-01-01T00:09:00Z' }];
    c.put(b);
    await until('b not ready', () => same(c.readyIPs('web'), ['10.244.1.5']) && same(c.notReadyIPs('web'), ['10.244.2.5']));
    await until('b not ready in slice', () => same(c.sliceReady('web'), ['10.244.1.5']));
  });

  it('a pod deleted leaves the Endpoints; marked for deletion, it leaves at once and stays in the slice as terminating', async () => {
    const c = await cluster((api) => {
      api.seed(R.services, toKube(service()));
      api.seed(R.pods, toKube(pod('a', { ip: '10.244.1.5' })));
      api.seed(R.pods, toKube(pod('b', { ip: '10.244.1.6' })));
    });
    await until('both ready', () => same(c.readyIPs('web'), ['10.244.1.5', '10.244.1.6']));
    await c.api.client().delete({ ...R.pods, namespace: 'ns' }, 'b');
    await until('b gone from Endpoints', () => same(c.readyIPs('web'), ['10.244.1.5']) && !c.notReadyIPs('web').length);
    const terminating = await until<Endpoint>('b terminating in slice', () =>
      c
        .slices('web')
        .flatMap((s) => s.endpoints)
        .find((e) => e.targetRef?.name === 'b' && e.conditions?.terminating),
    );
    expect(terminating.conditions).toEqual({ ready: false, serving: true, terminating: true });
    c.api.remove(R.pods, 'ns', 'b');
    await until(
      'b gone from slice',
      () =>
        !c
          .slices('web')
          .flatMap((s) => s.endpoints)
          .some((e) => e.targetRef?.name === 'b'),
    );
  });

  it('a Service’s selector change moves the Endpoints to the newly selected pods', async () => {
    const c = await cluster((api) => {
      api.seed(R.services, toKube(service()));
      api.seed(R.pods, toKube(pod('a', { ip: '10.244.1.5' })));
      api.seed(R.pods, toKube(pod('b', { ip: '10.244.1.6', labels: { app: 'api' } })));
    });
    await until('a selected', () => same(c.readyIPs('web'), ['10.244.1.5']));
    c.api.seed(R.services, { ...structuredClone(c.api.objects.get('services/ns/web')!), spec: { ...service({ selector: { app: 'api' } }).spec } });
    await until('b selected', () => same(c.readyIPs('web'), ['10.244.1.6']));
    await until('b in slice', () => same(c.sliceReady('web'), ['10.244.1.6']));
  });

  it(
    'more than 100 pods: two slices, and scaling back to 0 leaves one empty slice',
    async () => {
      const c = await cluster((api) => {
        api.seed(R.services, toKube(service()));
        for (let i = 0; i < 130; i++) api.seed(R.pods, toKube(pod(`p${i}`, { ip: `10.244.${Math.floor(i / 100)}.${(i % 100) + 1}` })));
      });
      const sizes = await until(
        '2 slices',
        () => {
          const s = c
            .slices('web')
            .map((x) => x.endpoints.length)
            .sort((a, b) => b - a);
          return same(s.map(String), ['100', '30']) && s;
        },
        SLOW,
      );
      expect(sizes).toEqual([100, 30]);
      for (let i = 0; i < 130; i++) c.api.remove(R.pods, 'ns', `p${i}`);
      await until(
        'one empty slice',
        () => {
          const s = c.slices('web');
          return s.length === 1 && s[0].endpoints.length === 0;
        },
        SLOW,
      );
      await until('no subsets', () => !c.get<Endpoints>('endpoints', 'web')?.subsets, SLOW);
    },
    4 * SLOW,
  );

  it('a slice a user deletes is put back', async () => {
    const c = await cluster((api) => {
      api.seed(R.services, toKube(service()));
      api.seed(R.pods, toKube(pod('a', { ip: '10.244.1.5' })));
    });
    const [slice] = await until('slice', () => c.slices('web').length === 1 && c.slices('web'));
    c.api.remove(R.endpointslices, 'ns', slice.metadata!.name!);
    await until('slice back', () => same(c.sliceReady('web'), ['10.244.1.5']));
  });

  it('a Service deleted takes its Endpoints with it', async () => {
    const c = await cluster((api) => {
      api.seed(R.services, toKube(service()));
      api.seed(R.pods, toKube(pod('a', { ip: '10.244.1.5' })));
    });
    await until('endpoints', () => c.get('endpoints', 'web'));
    c.api.remove(R.services, 'ns', 'web');
    await until('endpoints gone', () => !c.get('endpoints', 'web'));
  });
});

describe('a namespace being deleted', () => {
  it('drops the work when creates are refused with NamespaceTerminating, instead of retrying', async () => {
    const c = await cluster((api) => {
      api.seed(R.services, toKube(service()));
      api.seed(R.pods, toKube(pod('a', { ip: '10.244.1.5' })));
    }, false);
    const refused = new StatusError(403, 'Forbidden', 'unable to create new content in namespace ns because it is being terminated', {
      causes: [{ reason: 'NamespaceTerminating', message: 'namespace ns is being terminated' }],
    });
    c.ctx.client.create = () => Promise.reject(refused);
    for (const ctl of c.controllers) await expect(ctl.sync('ns/web')).resolves.toBeUndefined();
    c.ctx.client.create = () => Promise.reject(new StatusError(403, 'Forbidden', 'no'));
    await expect(c.controllers[0].sync('ns/web')).rejects.toThrow('no');
  });
});

describe('Services without a selector', () => {
  const manual = (ip: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'ext', namespace: 'ns' },
    subsets: [{ addresses: [{ ip }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
  });

  it('keep the user’s Endpoints, mirrored into a slice that follows them', async () => {
    const c = await cluster((api) => {
      api.seed(R.services, toKube(service({ name: 'ext', selector: null, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })));
      api.seed(R.pods, toKube(pod('a', { ip: '10.244.1.5' })));
      api.seed(R.endpoints, manual('192.168.50.1'));
    });
    await until('mirrored slice', () => same(c.sliceReady('ext'), ['192.168.50.1']));
    const [slice] = c.slices('ext');
    expect(slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by']).toBe('endpointslicemirroring-controller.k8s.io');
    expect(slice.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);
    c.api.seed(R.endpoints, { ...manual('192.168.50.2'), metadata: { ...c.api.objects.get('endpoints/ns/ext')!.metadata } });
    await until('mirror follows', () => same(c.sliceReady('ext'), ['192.168.50.2']));
    expect(c.slices('ext').map((s) => s.metadata?.name)).toEqual([slice.metadata?.name]);
    // The Endpoints controller never wrote them.
    expect(c.api.writes({ resource: 'endpoints' })).toEqual([]);
    c.api.remove(R.endpoints, 'ns', 'ext');
    await until('mirror gone', () => !c.slices('ext').length);
  });

  it('are looked at again, with the other Service, when a user relabels their mirror for that one', async () => {
    const api = new FakeApi();
    api.seed(R.services, toKube(service({ name: 'ext', selector: null, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })));
    api.seed(R.endpoints, manual('192.168.50.1'));
    const { ctx, informers } = api.context();
    const mirroring = new EndpointSliceMirroringController(ctx);
    await informers.start();
    const ac = new AbortController();
    trackRunning(informers, ac);
    void mirroring.run(1, ac.signal);
    const slice = await until('mirrored slice', () => [...api.objects.values()].find((o) => o.kind === 'EndpointSlice'));
    // Only the mirroring controller runs: every key queued is its own.
    const add = vi.spyOn(WorkQueue.prototype, 'add');
    api.seed(R.endpointslices, { ...slice, metadata: { ...slice.metadata, labels: { ...slice.metadata.labels, 'kubernetes.io/service-name': 'other' } } });
    await until('both queued', () => ['ns/ext', 'ns/other'].every((k) => add.mock.calls.some(([x]) => x === k)));
  });

  it('leave alone an Endpoints that opts out of mirroring, and the slice that is not the mirror’s', async () => {
    const c = await cluster((api) => {
      api.seed(R.services, toKube(service({ name: 'kubernetes', selector: null })));
      api.seed(R.endpoints, {
        ...manual('172.23.0.2'),
        metadata: { name: 'kubernetes', namespace: 'ns', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      });
      // As kemu's api-server writes its own: labelled as mirrored, but no owner.
      api.seed(R.endpointslices, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'kubernetes',
          namespace: 'ns',
          labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['172.23.0.2'] }],
      });
    }, false);
    for (const ctl of c.controllers) await ctl.sync('ns/kubernetes');
    expect(c.api.writes()).toEqual([]);
  });
});
