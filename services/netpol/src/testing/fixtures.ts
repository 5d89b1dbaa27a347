/** Objects for the plan and rule tests: a few namespaces and pods over two nodes, and a policy maker. */
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy, NetworkPolicySpec } from 'kubernetes-types/networking/v1.js';

export const ns = (name: string, labels: Record<string, string> = {}): Namespace => ({
  metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
});
export const pod = (
  namespace: string,
  name: string,
  ip: string,
  node: string,
  labels: Record<string, string>,
  ports: { name: string; containerPort: number }[] = [],
): Pod => ({
  metadata: { namespace, name, labels },
  spec: { nodeName: node, containers: [{ name: 'c', ports }] },
  status: { phase: 'Running', podIP: ip },
});
export const np = (namespace: string, name: string, spec: NetworkPolicySpec): NetworkPolicy => ({ metadata: { namespace, name }, spec });

export const namespaces = [ns('default'), ns('prod', { team: 'a' }), ns('other')];
export const pods = [
  pod('default', 'server', '10.244.1.2', 'node-1', { app: 'server' }, [{ name: 'http', containerPort: 8080 }]),
  pod('default', 'client', '10.244.2.2', 'node-2', { role: 'client' }),
  pod('prod', 'client', '10.244.2.3', 'node-2', { role: 'client' }),
  pod('other', 'client', '10.244.1.3', 'node-1', { role: 'client' }),
];

/** Ingress to the server from pod peers and an ipBlock with an exception, on a named port and a port range. */
export const allowClients = np('default', 'allow-clients', {
  podSelector: { matchLabels: { app: 'server' } },
  policyTypes: ['Ingress'],
  ingress: [
    {
      from: [{ podSelector: { matchLabels: { role: 'client' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.244.2.0/24'] } }],
      ports: [
        { port: 'http', protocol: 'TCP' },
        { port: 9000, endPort: 9010, protocol: 'UDP' },
      ],
    },
  ],
});
