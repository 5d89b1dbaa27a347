/**
 * kube-proxy's own test scenarios (pkg/proxy/iptables and nftables proxier_test.go),
 * rebuilt as Service/EndpointSlice objects: the "fake proxier" node is test-node /
 * 192.168.0.2 with pod CIDR 10.0.0.0/8.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { makeEndpoint, makeLoadBalancer, makeService, makeSlice } from './fixtures.js';
import type { NodeFacts } from '../model/types.js';

export const TEST_NODE: NodeFacts = {
  nodeName: 'test-node',
  nodeIP: '192.168.0.2',
  localDetector: { mode: 'ClusterCIDR', cidr: '10.0.0.0/8' },
};

const p80 = [{ name: 'p80', port: 80 }];

/** A LoadBalancer as kube-proxy's tests make them: port p80 (80/TCP) on `nodePort`, health check NodePort 30000. */
function p80LoadBalancer(namespace: string, name: string, clusterIP: string, nodePort: number, ingressIP: string, spec: Service['spec']): Service {
  return makeLoadBalancer(namespace, name, ingressIP, {
    clusterIP,
    ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort }],
    healthCheckNodePort: 30000,
    ...spec,
  });
}

/** TestOverallIPTablesRules / TestOverallNFTablesRules: six Services of every kind. */
export function overallScenario(): { services: Service[]; slices: EndpointSlice[] } {
  const services = [
    makeService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
    p80LoadBalancer('ns2', 'svc2', '172.30.0.42', 3001, '1.2.3.4', { externalTrafficPolicy: 'Local', externalIPs: ['192.168.99.22'] }),
    makeService('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.43', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3003 }] }),
    makeService('ns4', 'svc4', {
      type: 'NodePort',
      clusterIP: '172.30.0.44',
      externalIPs: ['192.168.99.33'],
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }],
    }),
    p80LoadBalancer('ns5', 'svc5', '172.30.0.45', 3002, '5.6.7.8', {
      externalTrafficPolicy: 'Cluster',
      loadBalancerSourceRanges: [' 203.0.113.0/25'],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    }),
    makeService('ns6', 'svc6', { type: 'ClusterIP', clusterIP: '172.30.0.46', ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }] }),
  ];
  const slices = [
    makeSlice('ns1', 'svc1', 1, [{ addresses: ['10.180.0.1'] }], p80),
    // Not on test-node: with externalTrafficPolicy Local this node has no endpoint for svc2.
    makeSlice('ns2', 'svc2', 1, [{ addresses: ['10.180.0.2'] }], p80),
    makeSlice('ns3', 'svc3', 1, [{ addresses: ['10.180.0.3'] }], p80),
    makeSlice('ns4', 'svc4', 1, [{ addresses: ['10.180.0.4'] }, { addresses: ['10.180.0.5'], nodeName: 'test-node' }], p80),
    makeSlice('ns5', 'svc5', 1, [{ addresses: ['10.180.0.3'] }], p80),
  ];
  return { services, slices };
}

/** TestExternalTrafficPolicyLocal: a LoadBalancer with Local policy and one endpoint on this node. */
export function externalPolicyLocalScenario(): { services: Service[]; slices: EndpointSlice[] } {
  return {
    services: [p80LoadBalancer('ns1', 'svc1', '172.30.0.41', 3001, '1.2.3.4', { externalTrafficPolicy: 'Local', externalIPs: ['192.168.99.11'] })],
    slices: [makeSlice('ns1', 'svc1', 1, [{ addresses: ['10.180.0.1'] }, { addresses: ['10.180.2.1'], nodeName: 'test-node' }], p80)],
  };
}

/** A kemu-like node: node-1 at 172.28.0.11, pod network 10.244.0.0/16. */
export const KEMU_NODE: NodeFacts = {
  nodeName: 'node-1',
  nodeIP: '172.28.0.11',
  localDetector: { mode: 'ClusterCIDR', cidr: '10.244.0.0/16' },
};

/**
 * Everyday Services: three replicas behind a ClusterIP (one pod terminating), ClientIP
 * affinity, DNS over UDP and TCP, a NodePort with externalTrafficPolicy Local, an
 * internalTrafficPolicy Local Service with no pod on this node, and a Service whose
 * only pods are terminating but still serving.
 */
export function kemuScenario(): { services: Service[]; slices: EndpointSlice[] } {
  const services = [
    makeService('default', 'web', { clusterIP: '10.96.12.34', ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] }),
    makeService('default', 'sticky', {
      clusterIP: '10.96.20.1',
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } },
    }),
    makeService('kube-system', 'kube-dns', {
      clusterIP: '10.96.0.10',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    }),
    makeService('default', 'np', {
      type: 'NodePort',
      clusterIP: '10.96.30.3',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP', nodePort: 30080 }],
    }),
    makeService('default', 'internal', { clusterIP: '10.96.40.4', internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
    makeService('default', 'draining', { clusterIP: '10.96.50.5', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
    makeService('default', 'headless', { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
  ];
  const terminating = { ready: false, serving: true, terminating: true };
  const slices = [
    makeSlice(
      'default',
      'web',
      1,
      [
        makeEndpoint('10.244.1.5', 'node-1'),
        makeEndpoint('10.244.2.7', 'node-2'),
        makeEndpoint('10.244.3.2', 'node-3'),
        makeEndpoint('10.244.3.9', 'node-3', terminating),
      ],
      [{ port: 8080 }],
    ),
    makeSlice('default', 'sticky', 1, [makeEndpoint('10.244.1.6', 'node-1'), makeEndpoint('10.244.2.8', 'node-2')], [{ name: 'http', port: 80 }]),
    makeSlice(
      'kube-system',
      'kube-dns',
      1,
      [makeEndpoint('10.244.2.2', 'node-2')],
      [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    ),
    makeSlice('default', 'np', 1, [makeEndpoint('10.244.1.7', 'node-1'), makeEndpoint('10.244.2.9', 'node-2')], [{ name: 'http', port: 8080 }]),
    makeSlice('default', 'internal', 1, [makeEndpoint('10.244.2.10', 'node-2')], [{ name: 'http', port: 80 }]),
    makeSlice('default', 'draining', 1, [makeEndpoint('10.244.3.11', 'node-3', terminating)], [{ name: 'http', port: 80 }]),
  ];
  return { services, slices };
}
