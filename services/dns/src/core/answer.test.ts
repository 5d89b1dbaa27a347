import { describe, expect, it } from 'vitest';
import type { Namespace, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { DnsIndex, type IndexOptions } from './dns-index.js';
import { answer, type Reply } from './answer.js';
import { reverseName, undashed } from './names.js';

const ns = (name: string): Namespace => ({ metadata: { name } });

function svc(name: string, spec: Service['spec'], namespace = 'default'): Service {
  return { metadata: { name, namespace }, spec };
}

type Ep = { ip: string; ready?: boolean; hostname?: string; pod?: string };

function slice(
  service: string,
  eps: Ep[],
  ports: { name?: string; port: number; protocol?: string }[] = [],
  namespace = 'default',
  name = `${service}-abc`,
): EndpointSlice {
  return {
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: eps[0]?.ip.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      conditions: e.ready === undefined ? {} : { ready: e.ready },
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace } } : {}),
    })),
    ports,
  };
}

function pod(name: string, ip: string, extra: Partial<Pod['spec']> = {}, namespace = 'default'): Pod {
  return { metadata: { name, namespace }, spec: { containers: [], ...extra }, status: { podIP: ip, podIPs: [{ ip }] } };
}

/** A cluster: default and kube-system namespaces, a few services of each kind. */
function cluster(o: IndexOptions = {}): DnsIndex {
  const x = new DnsIndex({ now: () => 1700000000, ...o });
  x.upsertNamespace(ns('default'));
  x.upsertNamespace(ns('kube-system'));
  x.upsertService(svc('kubernetes', { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP' }] }));
  x.upsertService(
    svc(
      'kube-dns',
      {
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153 },
        ],
      },
      'kube-system',
    ),
  );
  x.upsertService(svc('web', { clusterIP: '10.96.5.5', ports: [{ name: 'http', port: 80 }, { port: 8080 }] }));
  x.upsertSlice(slice('web', [{ ip: '10.244.1.5' }, { ip: '10.244.2.6', ready: false }], [{ name: 'http', port: 8080 }]));
  x.upsertService(svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }));
  x.upsertSlice(
    slice(
      'db',
      [
        { ip: '10.244.1.7', hostname: 'db-0' },
        { ip: '10.244.2.8', hostname: 'db-1' },
        { ip: '10.244.3.9', ready: false, hostname: 'db-2' },
      ],
      [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    ),
  );
  x.upsertService(svc('empty', { clusterIP: 'None' }));
  x.upsertService(svc('ext', { type: 'ExternalName', externalName: 'example.com' }));
  x.upsertService(svc('alias', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }));
  x.upsertPod(pod('web-1', '10.244.1.5'));
  return x;
}

/** A reply in a compact form: rcode, then `type data` per answer. */
function brief(r: Reply): { rcode: string; answers: string[] } {
  const data = (a: Reply['answers'][number]) => {
    if (a.type === 'SRV') return `${a.data.priority} ${a.data.weight} ${a.data.port} ${a.data.target}`;
    if (a.type === 'SOA') return `${a.data.mname} ${a.data.rname}`;
    return 'data' in a && typeof a.data === 'string' ? a.data : '';
  };
  return { rcode: r.forward ? 'FORWARD' : r.rcode, answers: r.answers.map((a) => `${a.type} ${data(a)}`) };
}

const ask = (x: DnsIndex, name: string, type = 'A') => brief(answer(x, { name, type }));

describe('cluster DNS answers (Kubernetes DNS specification 1.0.1)', () => {
  const x = cluster();
  const rows: [string, string, string, string[]][] = [
    // ClusterIP services
    ['web.default.svc.cluster.local', 'A', 'NOERROR', ['A 10.96.5.5']],
    ['kubernetes.default.svc.cluster.local.', 'A', 'NOERROR', ['A 10.96.0.1']],
    ['web.default.svc.cluster.local', 'AAAA', 'NOERROR', []],
    ['web.default.svc.cluster.local', 'TXT', 'NOERROR', []],
    ['_http._tcp.web.default.svc.cluster.local', 'SRV', 'NOERROR', ['SRV 0 100 80 web.default.svc.cluster.local']],
    ['_http._tcp.web.default.svc.cluster.local', 'A', 'NOERROR', ['A 10.96.5.5']],
    ['_dns._udp.kube-dns.kube-system.svc.cluster.local', 'SRV', 'NOERROR', ['SRV 0 100 53 kube-dns.kube-system.svc.cluster.local']],
    ['_dns._tcp.kube-dns.kube-system.svc.cluster.local', 'SRV', 'NXDOMAIN', []],
    ['_dns-tcp._tcp.kube-dns.kube-system.svc.cluster.local', 'SRV', 'NOERROR', ['SRV 0 100 53 kube-dns.kube-system.svc.cluster.local']],
    ['_http._udp.web.default.svc.cluster.local', 'SRV', 'NXDOMAIN', []],
    ['web.default.svc.cluster.local', 'SRV', 'NOERROR', ['SRV 0 50 80 web.default.svc.cluster.local', 'SRV 0 50 8080 web.default.svc.cluster.local']],
    ['_tcp.web.default.svc.cluster.local', 'SRV', 'NXDOMAIN', []],
    ['5.5.96.10.in-addr.arpa', 'PTR', 'NOERROR', ['PTR web.default.svc.cluster.local']],
    ['10.0.96.10.in-addr.arpa.', 'PTR', 'NOERROR', ['PTR kube-dns.kube-system.svc.cluster.local']],
    // every ready endpoint has a name under its service, and a PTR to it
    ['10-244-1-5.web.default.svc.cluster.local', 'A', 'NOERROR', ['A 10.244.1.5']],
    ['10-244-2-6.web.default.svc.cluster.local', 'A', 'NXDOMAIN', []],
    ['5.1.244.10.in-addr.arpa', 'PTR', 'NOERROR', ['PTR 10-244-1-5.web.default.svc.cluster.local']],
    // headless: ready endpoints only
    ['db.default.svc.cluster.local', 'A', 'NOERROR', ['A 10.244.1.7', 'A 10.244.2.8']],
    ['db-0.db.default.svc.cluster.local', 'A', 'NOERROR', ['A 10.244.1.7']],
    ['db-2.db.default.svc.cluster.local', 'A', 'NXDOMAIN', []],
    [
      '_pg._tcp.db.default.svc.cluster.local',
      'SRV',
      'NOERROR',
      ['SRV 0 50 5432 db-0.db.default.svc.cluster.local', 'SRV 0 50 5432 db-1.db.default.svc.cluster.local'],
    ],
    ['7.1.244.10.in-addr.arpa', 'PTR', 'NOERROR', ['PTR db-0.db.default.svc.cluster.local']],
    ['9.3.244.10.in-addr.arpa', 'PTR', 'FORWARD', []],
    ['empty.default.svc.cluster.local', 'A', 'NXDOMAIN', []],
    // ExternalName
    ['ext.default.svc.cluster.local', 'A', 'NOERROR', ['CNAME example.com']],
    ['ext.default.svc.cluster.local', 'CNAME', 'NOERROR', ['CNAME example.com']],
    ['ext.default.svc.cluster.local', 'SRV', 'NOERROR', ['CNAME example.com']],
    ['alias.default.svc.cluster.local', 'A', 'NOERROR', ['CNAME web.default.svc.cluster.local', 'A 10.96.5.5']],
    // pods (verified: only addresses of pods in that namespace)
    ['10-244-1-5.default.pod.cluster.local', 'A', 'NOERROR', ['A 10.244.1.5']],
    ['10-244-1-5.kube-system.pod.cluster.local', 'A', 'NXDOMAIN', []],
    ['10-244-9-9.default.pod.cluster.local', 'A', 'NXDOMAIN', []],
    // the schema version
    ['dns-version.cluster.local', 'TXT', 'NOERROR', ['TXT 1.0.1']],
    ['dns-version.cluster.local', 'A', 'NOERROR', []],
    // names that exist without records (NODATA), and names that do not (NXDOMAIN)
    ['cluster.local', 'A', 'NOERROR', []],
    ['cluster.local', 'SOA', 'NOERROR', ['SOA ns.dns.cluster.local hostmaster.cluster.local']],
    ['cluster.local', 'NS', 'NOERROR', ['NS ns.dns.cluster.local']],
    ['svc.cluster.local', 'A', 'NOERROR', []],
    ['default.svc.cluster.local', 'A', 'NOERROR', []],
    ['default.pod.cluster.local', 'A', 'NOERROR', []],
    ['nope.svc.cluster.local', 'A', 'NXDOMAIN', []],
    ['missing.default.svc.cluster.local', 'A', 'NXDOMAIN', []],
    ['web.default.cluster.local', 'A', 'NXDOMAIN', []],
    ['foo.cluster.local', 'A', 'NXDOMAIN', []],
    ['web.default.svc.cluster.local.default.svc.cluster.local', 'A', 'NXDOMAIN', []],
    // no wildcards (CoreDNS dropped them in 1.9)
    ['*.default.svc.cluster.local', 'A', 'NXDOMAIN', []],
    ['web.*.svc.cluster.local', 'A', 'NXDOMAIN', []],
    ['_*._tcp.web.default.svc.cluster.local', 'SRV', 'NXDOMAIN', []],
    // case-insensitive
    ['WEB.Default.SVC.Cluster.Local', 'A', 'NOERROR', ['A 10.96.5.5']],
    ['_HTTP._TCP.web.default.svc.cluster.local', 'SRV', 'NOERROR', ['SRV 0 100 80 web.default.svc.cluster.local']],
    ['DNS-VERSION.CLUSTER.LOCAL', 'TXT', 'NOERROR', ['TXT 1.0.1']],
    // outside the zone
    ['example.com', 'A', 'FORWARD', []],
    ['4.3.2.1.in-addr.arpa', 'PTR', 'FORWARD', []],
  ];
  it.each(rows)('%s %s → %s %j', (name, type, rcode, answers) => {
    expect(ask(x, name, type)).toEqual({ rcode, answers });
  });

  it('NXDOMAIN and NODATA carry the zone SOA as authority; answers do not', () => {
    const nx = answer(x, { name: 'missing.default.svc.cluster.local', type: 'A' });
    expect(nx.authoritative).toBe(true);
    expect(nx.authorities).toEqual([
      {
        type: 'SOA',
        name: 'cluster.local',
        ttl: 5,
        data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 1700000000, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 },
      },
    ]);
    expect(answer(x, { name: 'web.default.svc.cluster.local', type: 'AAAA' }).authorities).toHaveLength(1);
    expect(answer(x, { name: 'web.default.svc.cluster.local', type: 'A' }).authorities).toEqual([]);
    expect(answer(x, { name: '7.1.244.10.in-addr.arpa', type: 'A' }).authorities[0]?.name).toBe('in-addr.arpa');
  });

  it('answers with the TTL of CoreDNS (5 s), or the one configured; owners spelled as asked', () => {
    expect(answer(x, { name: 'Web.default.svc.cluster.local', type: 'A' }).answers).toEqual([
      { type: 'A', name: 'Web.default.svc.cluster.local', ttl: 5, data: '10.96.5.5' },
    ]);
    const y = new DnsIndex({ ttl: 30 });
    y.upsertService(svc('a', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] }));
    const [first] = answer(y, { name: 'a.default.svc.cluster.local', type: 'A' }).answers;
    expect(first && 'ttl' in first ? first.ttl : undefined).toBe(30);
  });

  it("SRV answers carry the targets' addresses as additional records", () => {
    const r = answer(x, { name: '_pg._tcp.db.default.svc.cluster.local', type: 'SRV' });
    expect(r.additionals.map((a) => `${a.name} ${'data' in a && typeof a.data === 'string' ? a.data : ''}`)).toEqual([
      'db-0.db.default.svc.cluster.local 10.244.1.7',
      'db-1.db.default.svc.cluster.local 10.244.2.8',
    ]);
  });

  it('an ExternalName outside the zone asks the server to follow it upstream', () => {
    expect(answer(x, { name: 'ext.default.svc.cluster.local', type: 'A' }).chase).toBe('example.com');
    expect(answer(x, { name: 'ext.default.svc.cluster.local', type: 'CNAME' }).chase).toBeUndefined();
  });

  it('other classes and zone transfers are refused', () => {
    expect(answer(x, { name: 'web.default.svc.cluster.local', type: 'A', class: 'CH' }).rcode).toBe('REFUSED');
    expect(answer(x, { name: 'cluster.local', type: 'AXFR' }).rcode).toBe('REFUSED');
  });

  it('before the informers synced, a name not found is SERVFAIL, not NXDOMAIN', () => {
    expect(answer(x, { name: 'missing.default.svc.cluster.local', type: 'A' }, false).rcode).toBe('SERVFAIL');
    expect(answer(x, { name: 'web.default.svc.cluster.local', type: 'A' }, false).rcode).toBe('NOERROR');
  });
});

describe('the index follows the cluster', () => {
  it('headless: a name appears with the first ready endpoint and goes with the last', () => {
    const x = cluster();
    x.upsertService(svc('h', { clusterIP: 'None' }));
    expect(ask(x, 'h.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
    x.upsertSlice(slice('h', [{ ip: '10.244.1.20', ready: false }], [], 'default', 'h-1'));
    expect(ask(x, 'h.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
    x.upsertSlice(slice('h', [{ ip: '10.244.1.20', ready: true }], [], 'default', 'h-1'));
    expect(ask(x, 'h.default.svc.cluster.local')).toEqual({ rcode: 'NOERROR', answers: ['A 10.244.1.20'] });
    x.upsertSlice(slice('h', [{ ip: '10.244.1.21' }], [], 'default', 'h-2'));
    expect(ask(x, 'h.default.svc.cluster.local').answers).toEqual(['A 10.244.1.20', 'A 10.244.1.21']);
    x.deleteSlice(slice('h', [], [], 'default', 'h-1'));
    x.deleteSlice(slice('h', [], [], 'default', 'h-2'));
    expect(ask(x, 'h.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });

  it('publishNotReadyAddresses publishes endpoints that are not ready', () => {
    const x = cluster();
    x.upsertService(svc('peers', { clusterIP: 'None', publishNotReadyAddresses: true }));
    x.upsertSlice(slice('peers', [{ ip: '10.244.1.30', ready: false, hostname: 'p-0' }]));
    expect(ask(x, 'peers.default.svc.cluster.local').answers).toEqual(['A 10.244.1.30']);
    expect(ask(x, 'p-0.peers.default.svc.cluster.local').answers).toEqual(['A 10.244.1.30']);
  });

  it('hostname.subdomain: from the endpoint, else from the pod whose subdomain is the service', () => {
    const x = cluster();
    x.upsertService(svc('sub', { clusterIP: 'None' }));
    x.upsertSlice(slice('sub', [{ ip: '10.244.1.40', pod: 'busybox-1' }]));
    expect(ask(x, 'busybox-1.sub.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
    expect(ask(x, '10-244-1-40.sub.default.svc.cluster.local').answers).toEqual(['A 10.244.1.40']);
    x.upsertPod(pod('busybox-1', '10.244.1.40', { hostname: 'busybox-1', subdomain: 'sub' }));
    expect(ask(x, 'busybox-1.sub.default.svc.cluster.local').answers).toEqual(['A 10.244.1.40']);
    expect(ask(x, '40.1.244.10.in-addr.arpa', 'PTR').answers).toEqual(['PTR busybox-1.sub.default.svc.cluster.local']);
    x.deletePod(pod('busybox-1', '10.244.1.40'));
    expect(ask(x, 'busybox-1.sub.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });

  it('a deleted service, namespace or pod takes its names away; PTRs shared by two services stay for the other', () => {
    const x = cluster();
    x.upsertService(svc('web2', { clusterIP: '10.96.5.6', ports: [{ port: 80 }] }));
    x.upsertSlice(slice('web2', [{ ip: '10.244.1.5' }]));
    expect(ask(x, '5.1.244.10.in-addr.arpa', 'PTR').answers).toEqual([
      'PTR 10-244-1-5.web.default.svc.cluster.local',
      'PTR 10-244-1-5.web2.default.svc.cluster.local',
    ]);
    x.deleteService(svc('web', {}));
    expect(ask(x, 'web.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
    expect(ask(x, '5.5.96.10.in-addr.arpa', 'PTR').rcode).toBe('FORWARD');
    expect(ask(x, '5.1.244.10.in-addr.arpa', 'PTR').answers).toEqual(['PTR 10-244-1-5.web2.default.svc.cluster.local']);
    x.deletePod(pod('web-1', '10.244.1.5'));
    expect(ask(x, '10-244-1-5.default.pod.cluster.local').rcode).toBe('NXDOMAIN');
    x.upsertNamespace(ns('team'));
    expect(ask(x, 'team.svc.cluster.local').rcode).toBe('NOERROR');
    x.deleteNamespace(ns('team'));
    expect(ask(x, 'team.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });

  it('a slice that changes its service moves its endpoints', () => {
    const x = cluster();
    x.upsertService(svc('a', { clusterIP: 'None' }));
    x.upsertService(svc('b', { clusterIP: 'None' }));
    x.upsertSlice(slice('a', [{ ip: '10.244.1.50' }], [], 'default', 's'));
    x.upsertSlice(slice('b', [{ ip: '10.244.1.50' }], [], 'default', 's'));
    expect(ask(x, 'a.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
    expect(ask(x, 'b.default.svc.cluster.local').answers).toEqual(['A 10.244.1.50']);
  });

  it('every change bumps the generation and the SOA serial', () => {
    let now = 100;
    const x = new DnsIndex({ now: () => now });
    const g = x.generation;
    now = 200;
    x.upsertService(svc('a', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] }));
    expect(x.generation).toBeGreaterThan(g);
    expect(x.serial).toBe(200);
  });

  it("an update that changes no record leaves the generation (and the server's encoded replies) alone", () => {
    const x = cluster();
    const g = x.generation;
    x.upsertPod({ ...pod('web-1', '10.244.1.5'), status: { podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], phase: 'Running' } });
    x.upsertService({
      ...svc('web', { clusterIP: '10.96.5.5', ports: [{ name: 'http', port: 80 }, { port: 8080 }] }),
      metadata: { name: 'web', namespace: 'default', annotations: { a: 'b' } },
    });
    expect(x.generation).toBe(g);
    x.upsertPod(pod('web-1', '10.244.1.6'));
    expect(x.generation).toBeGreaterThan(g);
  });

  it('IPv6: AAAA, ip6.arpa PTR, dashed endpoint and pod names', () => {
    const x = cluster();
    x.upsertService(svc('v6', { clusterIP: 'fd00:10:96::a', clusterIPs: ['fd00:10:96::a'], ports: [{ port: 80 }] }));
    x.upsertSlice(slice('v6', [{ ip: 'fd00:10:244::5' }]));
    x.upsertPod(pod('p6', 'fd00:10:244::5'));
    expect(ask(x, 'v6.default.svc.cluster.local', 'AAAA').answers).toEqual(['AAAA fd00:10:96::a']);
    expect(ask(x, 'v6.default.svc.cluster.local', 'A')).toEqual({ rcode: 'NOERROR', answers: [] });
    expect(ask(x, reverseName('fd00:10:96::a')!, 'PTR').answers).toEqual(['PTR v6.default.svc.cluster.local']);
    expect(ask(x, 'fd00-10-244--5.v6.default.svc.cluster.local', 'AAAA').answers).toEqual(['AAAA fd00:10:244::5']);
    expect(ask(x, 'fd00-10-244--5.default.pod.cluster.local', 'AAAA').answers).toEqual(['AAAA fd00:10:244::5']);
  });
});

describe('options', () => {
  it('pods insecure: any address-shaped name in an existing namespace; disabled: none', () => {
    const insecure = cluster({ podMode: 'insecure' });
    expect(ask(insecure, '1-2-3-4.default.pod.cluster.local').answers).toEqual(['A 1.2.3.4']);
    expect(ask(insecure, '1-2-3-4.nowhere.pod.cluster.local').rcode).toBe('NXDOMAIN');
    expect(ask(insecure, 'not-an-ip.default.pod.cluster.local').rcode).toBe('NXDOMAIN');
    const disabled = cluster({ podMode: 'disabled' });
    expect(ask(disabled, '10-244-1-5.default.pod.cluster.local').rcode).toBe('NXDOMAIN');
  });

  it('the names before Kubernetes 1.2 only when asked for', () => {
    expect(ask(cluster(), 'web.default.cluster.local').rcode).toBe('NXDOMAIN');
    const legacy = cluster({ legacyNames: true });
    expect(ask(legacy, 'web.default.cluster.local').answers).toEqual(['A 10.96.5.5']);
    expect(ask(legacy, 'db.default.cluster.local').answers).toEqual(['A 10.244.1.7', 'A 10.244.2.8']);
    expect(ask(legacy, 'default.cluster.local').rcode).toBe('NOERROR');
  });

  it('another cluster domain', () => {
    const x = new DnsIndex({ zone: 'Corp.Example.' });
    x.upsertService(svc('a', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] }));
    expect(ask(x, 'a.default.svc.corp.example').answers).toEqual(['A 10.96.0.2']);
    expect(ask(x, 'a.default.svc.cluster.local').rcode).toBe('FORWARD');
  });
});

describe('names', () => {
  it('reverse names and dashed labels', () => {
    expect(reverseName('10.96.0.10')).toBe('10.0.96.10.in-addr.arpa');
    expect(reverseName('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    expect(reverseName('nope')).toBeUndefined();
    expect(undashed('10-244-1-5')).toBe('10.244.1.5');
    expect(undashed('fd00--1')).toBe('fd00::1');
    expect(undashed('a-b')).toBeUndefined();
  });
});
