import { describe, expect, it } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { buildModel } from './from-k8s.js';
import { ModelTracker, sliceServiceKey } from './tracker.js';
import { makeService, makeSlice } from '../testing/fixtures.js';

/** An informer cache stand-in: the objects by key, read as the tracker reads the listers. */
function cache(services: Service[], slices: EndpointSlice[]) {
  const svcs = new Map(services.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
  const sls = new Map(slices.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
  return {
    svcs,
    sls,
    source: {
      service: (k: string) => svcs.get(k),
      slices: (k: string) => [...sls.values()].filter((s) => sliceServiceKey(s) === k),
      serviceKeys: () => svcs.keys(),
    },
    model: () => buildModel([...svcs.values()], [...sls.values()]),
  };
}

const svc = (name: string, ip: string, ports = [{ name: 'http', port: 80, protocol: 'TCP' as const }]) => makeService('ns', name, { clusterIP: ip, ports });
const ep = (ip: string) => ({ addresses: [ip], conditions: { ready: true } });
const slice = (service: string, n: number, ips: string[]) => makeSlice('ns', service, n, ips.map(ep), [{ name: 'http', port: 8080 }]);

describe('ModelTracker (kube-proxy change trackers)', () => {
  it('gives the model buildModel gives, recomputing only the Services marked changed', () => {
    // "a" and "a-b" sort differently by Service and by "namespace/name:port": the model's order is the latter.
    const c = cache(
      [svc('a', '10.96.0.10'), svc('a-b', '10.96.0.11'), svc('c', '10.96.0.12')],
      [slice('a', 1, ['10.244.1.2']), slice('a-b', 1, ['10.244.1.3'])],
    );
    const t = new ModelTracker();
    const first = t.entries(c.source);
    expect(first).toEqual(c.model());
    expect(t.entries(c.source)).toBe(first); // nothing changed: the same model

    c.sls.set('ns/a-2', slice('a', 2, ['10.244.2.2']));
    c.svcs.delete('ns/c');
    c.svcs.set('ns/d', svc('d', '10.96.0.13', [{ name: 'dns', port: 53, protocol: 'TCP' }]));
    for (const k of ['ns/a', 'ns/c', 'ns/d']) t.changed(k);
    const next = t.entries(c.source);
    expect(next).toEqual(c.model());
    // The Service nothing touched keeps its entry object (what the iptables data path's memos key on).
    expect(next.find((e) => e.service.name === 'a-b')).toBe(first.find((e) => e.service.name === 'a-b'));
    expect(next.find((e) => e.service.name === 'a')).not.toBe(first.find((e) => e.service.name === 'a'));
  });

  it('a change it was not told of stays unseen until changedAll (a relist)', () => {
    const c = cache([svc('a', '10.96.0.10')], [slice('a', 1, ['10.244.1.2'])]);
    const t = new ModelTracker();
    t.entries(c.source);
    c.sls.set('ns/a-1', slice('a', 1, ['10.244.1.9']));
    expect(t.entries(c.source)[0]?.endpoints.map((e) => e.ip)).toEqual(['10.244.1.2']);
    t.changedAll();
    expect(t.entries(c.source)).toEqual(c.model());
  });

  it('finds a slice by its service-name label', () => {
    expect(sliceServiceKey(slice('web', 1, []))).toBe('ns/web');
    expect(sliceServiceKey({ ...slice('web', 1, []), metadata: { namespace: 'ns', name: 'x' } })).toBeUndefined();
  });
});
