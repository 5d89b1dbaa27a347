import { describe, expect, it } from 'vitest';
import { buildModel, endpointsFromSlices, parseIPv4CIDR, servicePortsFromService } from './from-k8s.js';
import { categorizeEndpoints } from './categorize.js';
import { makeService, makeServicePort, makeSlice } from '../testing/fixtures.js';
import type { EndpointInfo, ServicePortInfo } from './types.js';

describe('Service → service ports', () => {
  it('reads every field kube-proxy uses', () => {
    const svc = makeService(
      'ns',
      'lb',
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.5',
        clusterIPs: ['10.96.0.5'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 31000,
        externalIPs: ['192.168.99.1', 'fd00::1'],
        loadBalancerSourceRanges: [' 203.0.113.7/24', 'garbage', '198.51.100.9'],
        sessionAffinity: 'ClientIP',
        ports: [
          { name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 },
          { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
        ],
      },
      { loadBalancer: { ingress: [{ ip: '172.28.255.1' }, { ip: '172.28.255.2', ipMode: 'Proxy' }, { hostname: 'lb.example' }] } },
    );
    const [http, dns] = servicePortsFromService(svc);
    expect(http).toEqual<ServicePortInfo>({
      namespace: 'ns',
      name: 'lb',
      portName: 'http',
      protocol: 'TCP',
      type: 'LoadBalancer',
      clusterIP: '10.96.0.5',
      port: 80,
      nodePort: 30080,
      externalIPs: ['192.168.99.1'],
      loadBalancerIPs: ['172.28.255.1'],
      loadBalancerSourceRanges: ['203.0.113.0/24', '198.51.100.9/32'],
      affinityTimeoutSeconds: 10800,
      externalTrafficPolicy: 'Local',
      internalTrafficPolicy: 'Cluster',
      healthCheckNodePort: 31000,
      externalPolicyLocal: true,
    });
    expect(dns?.protocol).toBe('UDP');
  });

  it('skips headless and ExternalName Services', () => {
    expect(servicePortsFromService(makeService('ns', 'h', { clusterIP: 'None', ports: [{ port: 80 }] }))).toEqual([]);
    expect(servicePortsFromService(makeService('ns', 'x', { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] }))).toEqual([]);
  });

  it('externalTrafficPolicy Local means nothing for a ClusterIP Service without external IPs; no health check port without LoadBalancer', () => {
    const [p] = servicePortsFromService(
      makeService('ns', 'c', {
        clusterIP: '10.96.0.6',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 31000,
        ports: [{ port: 80 }],
      }),
    );
    expect([p?.externalPolicyLocal, p?.healthCheckNodePort, p?.protocol, p?.portName]).toEqual([false, 0, 'TCP', '']);
  });

  it('parses CIDRs as kube-proxy does', () => {
    expect(['10.0.0.1/24', ' 1.2.3.4 ', '0.0.0.0/0', '1.2.3.4/33', '::/0', '1.2.3/24'].map((c) => parseIPv4CIDR(c)?.text)).toEqual([
      '10.0.0.0/24',
      '1.2.3.4/32',
      '0.0.0.0/0',
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('EndpointSlices → endpoints', () => {
  it('matches slice ports to service ports by name and protocol, sorts by ip:port, dedups, defaults conditions', () => {
    const eps = endpointsFromSlices([
      makeSlice(
        'ns',
        'svc',
        2,
        [{ addresses: ['10.244.1.10'] }, { addresses: ['10.244.1.9'], conditions: { ready: false, serving: true, terminating: true } }],
        [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns', port: 5353, protocol: 'TCP' },
        ],
      ),
      makeSlice(
        'ns',
        'svc',
        1,
        [{ addresses: ['10.244.1.10'], nodeName: 'n1', zone: 'z1' }, { addresses: ['10.244.2.1', '10.244.2.2'] }],
        [{ name: 'dns', port: 53, protocol: 'UDP' }],
      ),
      { ...makeSlice('ns', 'svc', 3, [{ addresses: ['fd00::1'] }], [{ name: 'dns', port: 53, protocol: 'UDP' }]), addressType: 'IPv6' },
    ]);
    expect([...eps.keys()].sort()).toEqual(['ns/svc:dns/TCP', 'ns/svc:dns/UDP']);
    const udp = eps.get('ns/svc:dns/UDP') ?? [];
    // "10.244.1.10:53" < "10.244.1.9:53" as strings, as kube-proxy sorts; svc-1 (first by name) wins the duplicate.
    expect(udp).toEqual<EndpointInfo[]>([
      { ip: '10.244.1.10', port: 53, ready: true, serving: true, terminating: false, nodeName: 'n1', zone: 'z1' },
      { ip: '10.244.1.9', port: 53, ready: false, serving: true, terminating: true },
      { ip: '10.244.2.1', port: 53, ready: true, serving: true, terminating: false },
    ]);
    expect(eps.get('ns/svc:dns/TCP')?.map((e) => e.port)).toEqual([5353, 5353]);
  });

  it('buildModel joins them and sorts Service ports by name then protocol', () => {
    const model = buildModel(
      [
        makeService('b', 'svc', {
          clusterIP: '10.96.0.2',
          ports: [
            { name: 'x', port: 1, protocol: 'UDP' },
            { name: 'x', port: 1, protocol: 'TCP' },
          ],
        }),
        makeService('a', 'svc', { clusterIP: '10.96.0.1', ports: [{ port: 1 }] }),
      ],
      [makeSlice('b', 'svc', 1, [{ addresses: ['10.244.0.1'] }], [{ name: 'x', port: 9, protocol: 'UDP' }])],
    );
    expect(model.map((e) => `${e.service.namespace}/${e.service.name}:${e.service.portName}/${e.service.protocol} ${e.endpoints.length}`)).toEqual([
      'a/svc:/TCP 0',
      'b/svc:x/TCP 0',
      'b/svc:x/UDP 1',
    ]);
  });
});

describe('categorizeEndpoints', () => {
  const svc = makeServicePort;
  const ep = (ip: string, nodeName: string, ready = true, terminating = false): EndpointInfo => ({ ip, port: 80, ready, serving: true, terminating, nodeName });
  const ips = (l: EndpointInfo[]): string[] => l.map((e) => e.ip);

  it('uses ready endpoints, and serving+terminating ones only when none is ready', () => {
    const eps = [ep('10.0.0.1', 'n1'), ep('10.0.0.2', 'n2', false, true)];
    expect(ips(categorizeEndpoints(svc(), eps, 'n1').cluster)).toEqual(['10.0.0.1']);
    expect(ips(categorizeEndpoints(svc(), [eps[1]], 'n1').cluster)).toEqual(['10.0.0.2']);
    expect(categorizeEndpoints(svc(), [{ ...ep('10.0.0.3', 'n1', false), serving: false }], 'n1').hasAnyEndpoints).toBe(false);
  });

  it('externalTrafficPolicy Local: local endpoints for external traffic, all of them for ClusterIP traffic', () => {
    const s = svc({ type: 'NodePort', nodePort: 30000, externalTrafficPolicy: 'Local', externalPolicyLocal: true });
    const c = categorizeEndpoints(s, [ep('10.0.0.1', 'n1'), ep('10.0.0.2', 'n2')], 'n2');
    expect([ips(c.cluster), ips(c.local), ips(c.allReachable), c.hasAnyEndpoints]).toEqual([
      ['10.0.0.1', '10.0.0.2'],
      ['10.0.0.2'],
      ['10.0.0.1', '10.0.0.2'],
      true,
    ]);
  });

  it('internalTrafficPolicy Local alone: only local endpoints are reachable, but the Service still has endpoints elsewhere', () => {
    const c = categorizeEndpoints(svc({ internalTrafficPolicy: 'Local' }), [ep('10.0.0.1', 'n1')], 'n2');
    expect([ips(c.cluster), ips(c.local), ips(c.allReachable), c.hasAnyEndpoints]).toEqual([[], [], [], true]);
  });

  it('Local policy falls back to local serving+terminating endpoints', () => {
    const c = categorizeEndpoints(svc({ internalTrafficPolicy: 'Local' }), [ep('10.0.0.1', 'n1', false, true), ep('10.0.0.2', 'n2')], 'n1');
    expect(ips(c.local)).toEqual(['10.0.0.1']);
  });
});
