/**
 * The LoadBalancer controller on the fake api: Services appear, change and
 * go as watch events, and the tests look at what a user sees — the
 * EXTERNAL-IP in status.loadBalancer and the Service's events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '@kemu/api';
import type { Service } from 'kubernetes-types/core/v1.js';
import { R } from '../context.js';
import { FakeApi } from '../testing/fake-api.js';
import { stopRunning, trackRunning, until } from '../testing/running.js';
import { ServiceLBController } from './service-lb.js';
import { parseLbRange } from './service-lb-pool.js';

afterEach(stopRunning);

interface SvcOpts {
  type?: string;
  lbIP?: string;
  lbClass?: string;
  ip?: string;
  created?: string;
}
const svc = (name: string, o: SvcOpts = {}): KubeObject => {
  const s: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'ns', creationTimestamp: o.created },
    spec: {
      type: o.type ?? 'LoadBalancer',
      ports: [{ port: 80, protocol: 'TCP' }],
      selector: { app: name },
      loadBalancerIP: o.lbIP,
      loadBalancerClass: o.lbClass,
    },
    status: { loadBalancer: o.ip ? { ingress: [{ ip: o.ip, ipMode: 'VIP' }] } : {} },
  };
  return s as KubeObject;
};

/** A fake cluster with the controller running on `pool`, after `seed`. */
async function cluster(pool: string, seed: (api: FakeApi) => void = () => {}) {
  const api = new FakeApi();
  seed(api);
  const { ctx, informers } = api.context();
  const c = new ServiceLBController(ctx, parseLbRange(pool));
  await informers.start();
  const ac = new AbortController();
  trackRunning(informers, ac);
  void c.run(1, ac.signal);
  const get = (name: string) => api.objects.get(`services/ns/${name}`) as Service | undefined;
  const ips = (name: string) => (get(name)?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
  const events = (name: string) =>
    api.calls
      .filter((x) => x.resource === 'events' && x.verb === 'create')
      .map((x) => x.body as { involvedObject: { name: string }; reason: string; message: string; type: string })
      .filter((e) => e.involvedObject.name === name);
  const put = (o: KubeObject) => api.seed(R.services, o);
  /** The Service as stored, changed by `f` (a user's edit keeps the status it had). */
  const edit = (name: string, f: (s: Service) => void) => {
    const s = structuredClone(get(name)!);
    f(s);
    put(s as KubeObject);
  };
  return { api, c, get, ips, events, put, edit };
}

describe('service-lb controller', () => {
  it('a LoadBalancer Service gets the first address of the pool in its status, as a VIP, and an IPAllocated event', async () => {
    const c = await cluster('172.28.255.1-172.28.255.254', (api) => api.seed(R.services, svc('web')));
    await until('an address', () => c.ips('web').length === 1);
    expect(c.get('web')?.status?.loadBalancer?.ingress).toEqual([{ ip: '172.28.255.1', ipMode: 'VIP' }]);
    expect(c.api.writes({ resource: 'services' })).toEqual([expect.objectContaining({ verb: 'update', subresource: 'status', name: 'web' })]);
    const ev = await until('event', () => c.events('web')[0]);
    expect(ev).toMatchObject({ type: 'Normal', reason: 'IPAllocated', message: 'Assigned IP ["172.28.255.1"]' });
  });

  it('spec.loadBalancerIP in the pool is given; outside it, the Service stays pending with AllocationFailed', async () => {
    const c = await cluster('10.0.0.1-10.0.0.9', (api) => {
      api.seed(R.services, svc('asked', { lbIP: '10.0.0.7' }));
      api.seed(R.services, svc('outside', { lbIP: '192.168.0.1' }));
    });
    await until('the requested address', () => c.ips('asked')[0] === '10.0.0.7');
    const ev = await until('event', () => c.events('outside').find((e) => e.reason === 'AllocationFailed'));
    expect(ev).toMatchObject({ type: 'Warning', message: 'Failed to allocate IP for "ns/outside": "192.168.0.1" is not allowed in config' });
    expect(c.ips('outside')).toEqual([]);
  });

  it('an exhausted pool leaves the Service pending with a Warning; a deleted Service’s address goes to it', async () => {
    const c = await cluster('10.0.0.1/32', (api) => api.seed(R.services, svc('first', { created: '2026-01-01T00:00:00Z' })));
    await until('first address', () => c.ips('first')[0] === '10.0.0.1');
    c.put(svc('second'));
    const ev = await until('AllocationFailed', () => c.events('second').find((e) => e.reason === 'AllocationFailed'));
    expect(ev).toMatchObject({ type: 'Warning', message: 'Failed to allocate IP for "ns/second": no available IPs' });
    expect(c.ips('second')).toEqual([]);
    c.api.remove(R.services, 'ns', 'first');
    await until('second gets the freed address', () => c.ips('second')[0] === '10.0.0.1');
  });

  it('a Service turned into a ClusterIP loses its ingress and its address goes to a pending one', async () => {
    const c = await cluster('10.0.0.1/32', (api) => api.seed(R.services, svc('a')));
    await until('a address', () => c.ips('a')[0] === '10.0.0.1');
    c.put(svc('b'));
    await until('b pending', () => c.events('b').some((e) => e.reason === 'AllocationFailed'));
    c.edit('a', (s) => {
      s.spec!.type = 'ClusterIP';
    });
    await until('a cleared', () => c.ips('a').length === 0);
    expect(c.get('a')?.status?.loadBalancer).toEqual({});
    await until('b gets it', () => c.ips('b')[0] === '10.0.0.1');
  });

  it('a restarted controller keeps every address the Services show and allocates around them', async () => {
    const c = await cluster('10.0.0.1-10.0.0.3', (api) => {
      // Synced first: without the rebuild it would take 10.0.0.1 from old-a.
      api.seed(R.services, svc('new'));
      api.seed(R.services, svc('old-a', { ip: '10.0.0.1', created: '2026-01-01T00:00:00Z' }));
      api.seed(R.services, svc('old-b', { ip: '10.0.0.2', created: '2026-01-01T00:00:01Z' }));
    });
    await until('new gets the free address', () => c.ips('new')[0] === '10.0.0.3');
    expect([c.ips('old-a'), c.ips('old-b')]).toEqual([['10.0.0.1'], ['10.0.0.2']]);
    expect(c.api.written({ resource: 'services' })).toEqual(['new']);
    expect(c.c.alloc.ipOf('ns/old-b')).toBe('10.0.0.2');
  });

  it('two Services showing one address: the older keeps it, the other is moved', async () => {
    const c = await cluster('10.0.0.1-10.0.0.3', (api) => {
      api.seed(R.services, svc('young', { ip: '10.0.0.1', created: '2026-01-02T00:00:00Z' }));
      api.seed(R.services, svc('old', { ip: '10.0.0.1', created: '2026-01-01T00:00:00Z' }));
    });
    await until('young moved', () => c.ips('young')[0] === '10.0.0.2');
    expect(c.ips('old')).toEqual(['10.0.0.1']);
    expect(c.events('young').map((e) => e.reason)).toEqual(['ClearAssignment', 'IPAllocated']);
  });

  it('leaves a Service of another loadBalancerClass, and ClusterIP Services, alone', async () => {
    const c = await cluster('10.0.0.1-10.0.0.3', (api) => {
      api.seed(R.services, svc('other', { lbClass: 'example.com/lb' }));
      api.seed(R.services, svc('plain', { type: 'ClusterIP' }));
      api.seed(R.services, svc('ours', { lbClass: 'kemu.io/l2' }));
    });
    // Services are synced in order: once the last one has its address, the first two were seen.
    await until('ours', () => c.ips('ours')[0] === '10.0.0.1');
    expect(c.api.written({ resource: 'services' })).toEqual(['ours']);
  });

  it('a changed request moves the address', async () => {
    const c = await cluster('10.0.0.1-10.0.0.3', (api) => api.seed(R.services, svc('web')));
    await until('an address', () => c.ips('web')[0] === '10.0.0.1');
    c.edit('web', (s) => {
      s.metadata!.annotations = { 'metallb.io/loadBalancerIPs': '10.0.0.3' };
    });
    await until('moved', () => c.ips('web')[0] === '10.0.0.3');
    c.put(svc('next'));
    await until('the old address is free again', () => c.ips('next')[0] === '10.0.0.1');
  });
});
