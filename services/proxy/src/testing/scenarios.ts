/**
 * kube-proxy's own test scenarios (pkg/proxy/iptables and nftables proxier_test.go),
 * rebuilt as Service/EndpointSlice objects: the "fake proxier" node is test-node /
 * 192.168.0.2 with pod CIDR 10.0.0.0/8.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1';
import type { Service } from 'kubernetes-types/core/v1';
import { makeService, makeSlice } from './fixtures.js';
import type { NodeFacts } from '../model/types.js';

export const TEST_NODE: NodeFacts = {
  nodeName: 'test-node',
  nodeIP: '192.168.0.2',
  localDetector: { mode: 'ClusterCIDR', cidr: '10.0.0.0/8' },
};

const p80 = [{ name: 'p80', port: 80 }];

/** TestOverallIPTablesRules / TestOverallNFTablesRules: six Services of every kind. */
export function overallScenario(): { services: Service[]; slices: EndpointSlice[] } {
  const services = [
    makeService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
    makeService('ns2', 'svc2', {
      type: 'LoadBalancer', externalTrafficPolicy: 'Local', clusterIP: '172.30.0.42',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
      externalIPs: ['192.168.99.22'], healthCheckNodePort: 30000,
    }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }),
    makeService('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.43', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3003 }] }),
    makeService('ns4', 'svc4', { type: 'NodePort', clusterIP: '172.30.0.44', externalIPs: ['192.168.99.33'], ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }] }),
    makeService('ns5', 'svc5', {
      type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', clusterIP: '172.30.0.45',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3002 }],
      healthCheckNodePort: 30000, loadBalancerSourceRanges: [' 203.0.113.0/25'],
      sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    }, { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } }),
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
    services: [makeService('ns1', 'svc1', {
      type: 'LoadBalancer', clusterIP: '172.30.0.41', externalTrafficPolicy: 'Local',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
      healthCheckNodePort: 30000, externalIPs: ['192.168.99.11'],
    }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } })],
    slices: [makeSlice('ns1', 'svc1', 1, [{ addresses: ['10.180.0.1'] }, { addresses: ['10.180.2.1'], nodeName: 'test-node' }], p80)],
  };
}
