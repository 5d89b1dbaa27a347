import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from 'kubernetes-types/core/v1.js';
import { dropTypeDependentFields } from './service-type-change.js';

const ip = { clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' };
const lb: ServiceSpec = {
  type: 'LoadBalancer',
  ...ip,
  ports: [{ port: 80, nodePort: 30080 }],
  externalTrafficPolicy: 'Local',
  healthCheckNodePort: 30099,
  allocateLoadBalancerNodePorts: true,
  loadBalancerClass: 'x/y',
};
const np: ServiceSpec = { type: 'NodePort', ...ip, ports: [{ port: 80, nodePort: 30080 }], externalTrafficPolicy: 'Cluster' };
const cip: ServiceSpec = { type: 'ClusterIP', ...ip, ports: [{ port: 80 }] };
const ext: ServiceSpec = { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] };

/** The update of `old` that changes `change` and leaves the rest as it was (a merge patch). */
const drop = (old: ServiceSpec, change: ServiceSpec) =>
  dropTypeDependentFields({ metadata: {}, spec: { ...old, ...change } }, { metadata: {}, spec: old }).spec;

describe('dropTypeDependentFields', () => {
  it.each([
    {
      what: 'LoadBalancer → ClusterIP drops node ports, the health check port and the LB fields',
      old: lb,
      change: { type: 'ClusterIP' },
      want: { type: 'ClusterIP', ...ip, ports: [{ port: 80 }] },
    },
    {
      what: 'LoadBalancer → NodePort keeps the node ports, drops the LB-only fields',
      old: lb,
      change: { type: 'NodePort' },
      want: { type: 'NodePort', ...ip, ports: [{ port: 80, nodePort: 30080 }], externalTrafficPolicy: 'Local' },
    },
    { what: 'NodePort → ClusterIP drops node ports and externalTrafficPolicy', old: np, change: { type: 'ClusterIP' }, want: cip },
    {
      what: 'ClusterIP → ExternalName drops the cluster IPs and IP families',
      old: cip,
      change: { type: 'ExternalName', externalName: 'example.com' },
      want: ext,
    },
    {
      what: 'ClusterIP → ExternalName drops internalTrafficPolicy, whatever it was',
      old: { ...cip, internalTrafficPolicy: 'Local' },
      change: { type: 'ExternalName', externalName: 'example.com' },
      want: ext,
    },
    { what: 'NodePort → ExternalName drops all of them', old: np, change: { type: 'ExternalName', externalName: 'example.com' }, want: ext },
    {
      what: 'ExternalName → ClusterIP drops nothing (defaults and allocation fill in)',
      old: ext,
      change: { type: 'ClusterIP' },
      want: { ...ext, type: 'ClusterIP' },
    },
    { what: 'ClusterIP → NodePort drops nothing', old: cip, change: { type: 'NodePort' }, want: { ...cip, type: 'NodePort' } },
    {
      what: 'no type change drops nothing',
      old: lb,
      change: { ports: [{ port: 81, nodePort: 30080 }] },
      want: { ...lb, ports: [{ port: 81, nodePort: 30080 }] },
    },
  ] satisfies { what: string; old: ServiceSpec; change: ServiceSpec; want: ServiceSpec }[])('$what', ({ old, change, want }) => {
    expect(drop(old, change)).toEqual(want);
  });

  it.each([
    {
      what: 'a new node port asked for with ClusterIP (validation refuses it)',
      change: { type: 'ClusterIP', ports: [{ port: 80, nodePort: 30081 }] },
      field: 'ports',
      want: [{ port: 80, nodePort: 30081 }],
    },
    {
      what: 'a changed externalTrafficPolicy',
      change: { type: 'ClusterIP', externalTrafficPolicy: 'Cluster' },
      field: 'externalTrafficPolicy',
      want: 'Cluster',
    },
    { what: 'a changed health check port', change: { type: 'ClusterIP', healthCheckNodePort: 30100 }, field: 'healthCheckNodePort', want: 30100 },
    { what: 'a changed cluster IP going to ExternalName', change: { type: 'ExternalName', clusterIP: '10.96.0.6' }, field: 'clusterIP', want: '10.96.0.6' },
    {
      what: 'a changed allocateLoadBalancerNodePorts',
      change: { type: 'ClusterIP', allocateLoadBalancerNodePorts: false },
      field: 'allocateLoadBalancerNodePorts',
      want: false,
    },
  ] satisfies { what: string; change: ServiceSpec; field: keyof ServiceSpec; want: unknown }[])('keeps $what', ({ change, field, want }) => {
    expect(drop(lb, change)[field]).toEqual(want);
  });

  it('subtracting node ports is not a change: the rest go', () => {
    const old: ServiceSpec = {
      ...np,
      ports: [
        { name: 'a', port: 80, nodePort: 30080 },
        { name: 'b', port: 81, nodePort: 30081 },
      ],
    };
    expect(drop(old, { type: 'ClusterIP', ports: [{ name: 'a', port: 80, nodePort: 30080 }] })?.ports).toEqual([{ name: 'a', port: 80 }]);
  });

  it('clears the load balancer status of a Service that is no longer one, and leaves the inputs alone', () => {
    const old = { metadata: {}, spec: lb, status: { loadBalancer: { ingress: [{ ip: '172.16.255.250' }] } } };
    const next = structuredClone({ ...old, spec: { ...lb, type: 'ClusterIP' } });
    const before = structuredClone(next);
    expect(dropTypeDependentFields(next, old).status).toEqual({ loadBalancer: {} });
    expect(next).toEqual(before);
    expect(dropTypeDependentFields(structuredClone(old), old).status).toEqual(old.status);
  });
});
