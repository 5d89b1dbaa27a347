import { describe, expect, it } from 'vitest';
import type { EndpointSubset, Endpoints } from 'kubernetes-types/core/v1.js';
import { pod, service } from '../testing/endpoint-fixtures.js';
import { desiredSubsets, endpointsFor, repackSubsets, subsetsEqual, truncateSubsets } from './endpoints-compute.js';
import { findPort, rfc3339Nano, servicesToUpdateOnPodChange, TriggerTimeTracker } from './endpoint-util.js';

const ref = (name: string) => ({ kind: 'Pod', namespace: 'ns', name, uid: `uid-${name}` });
const addr = (name: string, ip: string, extra: object = {}) => ({ ip, nodeName: 'n1', targetRef: ref(name), ...extra });
const http = [{ name: 'http', port: 8080, protocol: 'TCP' }];

describe('desiredSubsets', () => {
  const cases: { name: string; svc: ReturnType<typeof service>; pods: ReturnType<typeof pod>[]; want: EndpointSubset[] }[] = [
    { name: 'no pods: no subsets', svc: service(), pods: [], want: [] },
    {
      name: 'ready and not-ready pods share a subset, each in its list',
      svc: service(),
      pods: [pod('b', { ip: '10.244.1.6' }), pod('a', { ip: '10.244.1.5' }), pod('c', { ip: '10.244.2.9', ready: false })],
      want: [{ addresses: [addr('a', '10.244.1.5'), addr('b', '10.244.1.6')], notReadyAddresses: [addr('c', '10.244.2.9')], ports: http }],
    },
    {
      name: 'publishNotReadyAddresses: every pod ready, terminating ones too',
      svc: service({ publishNotReady: true }),
      pods: [pod('a', { ip: '10.244.1.5', ready: false }), pod('b', { ip: '10.244.1.6', deleting: true })],
      want: [{ addresses: [addr('a', '10.244.1.5'), addr('b', '10.244.1.6')], ports: http }],
    },
    {
      name: 'terminating, finished and IP-less pods leave',
      svc: service(),
      pods: [pod('a', { deleting: true }), pod('b', { phase: 'Succeeded', ip: '10.244.1.7' }), pod('c', { ip: '' }), pod('d', { ip: '10.244.1.8' })],
      want: [{ addresses: [addr('d', '10.244.1.8')], ports: http }],
    },
    {
      name: 'a named targetPort resolves per pod: different numbers make different subsets',
      svc: service({ ports: [{ name: 'web', port: 80, targetPort: 'http', protocol: 'TCP' }] }),
      pods: [
        pod('a', { ip: '10.244.1.5', ports: [{ name: 'http', containerPort: 8080 }] }),
        pod('b', { ip: '10.244.1.6', ports: [{ name: 'http', containerPort: 9090 }] }),
        pod('c', { ip: '10.244.1.7', ports: [{ name: 'other', containerPort: 7070 }] }),
      ],
      want: [
        { addresses: [addr('a', '10.244.1.5')], ports: [{ name: 'web', port: 8080, protocol: 'TCP' }] },
        { addresses: [addr('b', '10.244.1.6')], ports: [{ name: 'web', port: 9090, protocol: 'TCP' }] },
      ],
    },
    {
      name: 'two ports served by the same pods: one subset with both',
      svc: service({
        ports: [
          { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9100, targetPort: 9100, protocol: 'TCP' },
        ],
      }),
      pods: [pod('a', { ip: '10.244.1.5' })],
      want: [
        {
          addresses: [addr('a', '10.244.1.5')],
          ports: [
            { name: 'http', port: 8080, protocol: 'TCP' },
            { name: 'metrics', port: 9100, protocol: 'TCP' },
          ],
        },
      ],
    },
    {
      name: 'headless with a matching subdomain: hostname; without ports: still listed',
      svc: service({ clusterIP: 'None', ports: [] }),
      pods: [pod('a', { ip: '10.244.1.5', hostname: 'a', subdomain: 'web' }), pod('b', { ip: '10.244.1.6', hostname: 'b', subdomain: 'other' })],
      want: [{ addresses: [addr('a', '10.244.1.5', { hostname: 'a' }), addr('b', '10.244.1.6')] }],
    },
  ];
  for (const c of cases) it(c.name, () => expect(desiredSubsets(c.svc, c.pods)).toEqual(c.want));

  it('does not depend on the order of the pods', () => {
    const pods = [pod('a', { ip: '10.244.1.5' }), pod('b', { ip: '10.244.1.6', ready: false }), pod('c', { ip: '10.244.3.1' })];
    expect(desiredSubsets(service(), [...pods].reverse())).toEqual(desiredSubsets(service(), pods));
  });
});

describe('repackSubsets', () => {
  it('marks an address not ready if any subset says so for that port', () => {
    const a = addr('a', '10.0.0.1');
    expect(
      repackSubsets([
        { addresses: [a], ports: http },
        { notReadyAddresses: [a], ports: http },
      ]),
    ).toEqual([{ notReadyAddresses: [a], ports: http }]);
  });
});

describe('subsetsEqual', () => {
  it('ignores the pods’ resourceVersions, not their uids', () => {
    const a: EndpointSubset[] = [{ addresses: [addr('a', '10.0.0.1', { targetRef: { ...ref('a'), resourceVersion: '1' } })], ports: http }];
    const b: EndpointSubset[] = [{ addresses: [addr('a', '10.0.0.1', { targetRef: { ...ref('a'), resourceVersion: '2' } })], ports: http }];
    const c: EndpointSubset[] = [{ addresses: [addr('a', '10.0.0.1', { targetRef: { ...ref('a'), uid: 'new' } })], ports: http }];
    expect(subsetsEqual(a, b)).toBe(true);
    expect(subsetsEqual(a, c)).toBe(false);
    expect(subsetsEqual(undefined, [])).toBe(true);
  });
});

describe('truncateSubsets', () => {
  it('keeps 1000 addresses, ready ones first', () => {
    const ips = (n: number, base: number) => Array.from({ length: n }, (_, i) => ({ ip: `10.${base}.${Math.floor(i / 250)}.${i % 250}` }));
    const subsets: EndpointSubset[] = [{ addresses: ips(900, 1), notReadyAddresses: ips(300, 2), ports: http }];
    expect(truncateSubsets(subsets)).toBe(true);
    expect(subsets[0].addresses).toHaveLength(900);
    expect(subsets[0].notReadyAddresses).toHaveLength(100);
  });
});

describe('endpointsFor', () => {
  const svc = service({ labels: { team: 'a' } });
  const subsets = desiredSubsets(svc, [pod('a', { ip: '10.244.1.5' })]);
  it('creates with the Service’s labels and the trigger time', () => {
    const ep = endpointsFor(svc, subsets, undefined, Date.parse('2026-01-01T00:00:00Z'))!;
    expect(ep.metadata).toEqual({
      name: 'web',
      namespace: 'ns',
      labels: { team: 'a' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:00Z' },
    });
    expect(ep.subsets).toEqual(subsets);
  });
  it('writes nothing when subsets and labels are already there', () => {
    const current: Endpoints = { metadata: { name: 'web', namespace: 'ns', resourceVersion: '5', labels: { team: 'a' } }, subsets };
    expect(endpointsFor(svc, desiredSubsets(svc, [pod('a', { ip: '10.244.1.5' })]), current, undefined)).toBeUndefined();
  });
  it('rewrites when the Service’s labels change, and labels a headless Service’s Endpoints', () => {
    const current: Endpoints = { metadata: { name: 'web', namespace: 'ns', resourceVersion: '5', labels: { team: 'a' } }, subsets };
    expect(endpointsFor(service({ labels: { team: 'b' } }), subsets, current, undefined)?.metadata?.labels).toEqual({ team: 'b' });
    expect(endpointsFor(service({ clusterIP: 'None' }), [], undefined, undefined)?.metadata?.labels).toEqual({ 'service.kubernetes.io/headless': '' });
  });
  it('omits subsets when there are none, as Kubernetes’ JSON does', () => {
    expect(endpointsFor(svc, [], undefined, undefined)).not.toHaveProperty('subsets');
  });
});

describe('findPort', () => {
  const p = pod('a', {
    ports: [
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 5353 },
    ],
  });
  it.each([
    [{ port: 80, targetPort: 8080 }, 8080],
    [{ port: 80 }, 80],
    [{ port: 80, targetPort: '8081' }, 8081],
    [{ port: 53, targetPort: 'dns', protocol: 'UDP' }, 53],
    [{ port: 53, targetPort: 'dns', protocol: 'TCP' }, undefined],
    [{ port: 53, targetPort: 'dns-tcp' }, 5353],
    [{ port: 53, targetPort: 'nope' }, undefined],
  ])('%j → %s', (sp, want) => expect(findPort(p, sp)).toBe(want));
});

describe('servicesToUpdateOnPodChange', () => {
  const svcs = [service({ name: 'web' }), service({ name: 'api', selector: { tier: 'api' } }), service({ name: 'manual', selector: null })];
  const next = (p: ReturnType<typeof pod>, f: (q: ReturnType<typeof pod>) => void) => {
    // A newer version of the pod (resourceVersion is read-only in the types: set it by copying).
    const q = { ...structuredClone(p), metadata: { ...structuredClone(p.metadata), resourceVersion: '8' } };
    f(q);
    return q;
  };
  const base = pod('a');
  it('a readiness change re-syncs the pod’s Services, read from the event, not remembered', () => {
    expect([
      ...servicesToUpdateOnPodChange(
        svcs,
        base,
        next(base, (q) => (q.status!.conditions![0].status = 'False')),
      ),
    ]).toEqual(['ns/web']);
  });
  it('an annotation change or a resync re-syncs nothing', () => {
    expect(
      servicesToUpdateOnPodChange(
        svcs,
        base,
        next(base, (q) => (q.metadata!.annotations = { x: 'y' })),
      ).size,
    ).toBe(0);
    expect(servicesToUpdateOnPodChange(svcs, base, structuredClone(base)).size).toBe(0);
  });
  it('a label change re-syncs the Services joined and left', () => {
    expect(
      [
        ...servicesToUpdateOnPodChange(
          svcs,
          base,
          next(base, (q) => (q.metadata!.labels = { tier: 'api' })),
        ),
      ].sort(),
    ).toEqual(['ns/api', 'ns/web']);
    const both = next(base, (q) => (q.metadata!.labels = { app: 'web', tier: 'api' }));
    expect([...servicesToUpdateOnPodChange(svcs, base, both)]).toEqual(['ns/api']);
  });
});

describe('TriggerTimeTracker', () => {
  it('reports the Service’s creation first, then the earliest new Ready transition, then nothing', () => {
    const t = new TriggerTimeTracker();
    const svc = service();
    expect(t.compute(svc, [pod('a')])).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(t.compute(svc, [pod('a')])).toBeUndefined();
    expect(t.compute(svc, [pod('a'), pod('b', { readySince: '2026-01-01T00:05:00Z' }), pod('c', { readySince: '2026-01-01T00:04:00Z' })])).toBe(
      Date.parse('2026-01-01T00:04:00Z'),
    );
  });
  it('formats as Go’s RFC3339Nano', () => {
    expect(rfc3339Nano(Date.parse('2026-01-01T00:00:00.000Z'))).toBe('2026-01-01T00:00:00Z');
    expect(rfc3339Nano(Date.parse('2026-01-01T00:00:00.120Z'))).toBe('2026-01-01T00:00:00.12Z');
  });
});
