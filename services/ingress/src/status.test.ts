import { describe, expect, it } from 'vitest';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import { nodeAddresses, publishedAddresses, statusUpdates } from './status.js';
import { ingress } from './testing/objects.js';

const lb = (status: Service['status'], externalIPs?: string[]): Service => ({
  metadata: { name: 'ingress-nginx-controller', namespace: 'ingress-nginx' },
  spec: { type: 'LoadBalancer', ...(externalIPs ? { externalIPs } : {}) },
  status,
});

describe('status.loadBalancer from the published Service', () => {
  it("takes the Service's EXTERNAL-IP (ip or hostname), else its externalIPs, else nothing", () => {
    expect(publishedAddresses(lb({ loadBalancer: { ingress: [{ ip: '172.19.255.1', ipMode: 'VIP' }] } }))).toEqual([{ ip: '172.19.255.1' }]);
    expect(publishedAddresses(lb({ loadBalancer: { ingress: [{ hostname: 'lb.example' }] } }))).toEqual([{ hostname: 'lb.example' }]);
    expect(publishedAddresses(lb({ loadBalancer: {} }, ['192.0.2.2', '192.0.2.1']))).toEqual([{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }]);
    expect(publishedAddresses(lb({ loadBalancer: {} }))).toEqual([]);
    expect(publishedAddresses(undefined)).toEqual([]);
  });

  it('updates the served Ingresses whose status differs, and only those', () => {
    const done = { ...ingress('done', {}), status: { loadBalancer: { ingress: [{ ip: '172.19.255.1' }] } } };
    const todo = ingress('todo', {});
    const other = ingress('not-ours', {});
    const served = new Set(['default/done', 'default/todo']);
    const updates = statusUpdates([done, todo, other], served, [{ ip: '172.19.255.1' }]);
    expect(updates.map((i) => [i.metadata?.name, i.status])).toEqual([['todo', { loadBalancer: { ingress: [{ ip: '172.19.255.1' }] } }]]);
    expect(todo.status).toBeUndefined();
    expect(statusUpdates([done], served, []).map((i) => i.status)).toEqual([{ loadBalancer: {} }]);
  });
});

describe('status.loadBalancer without --publish-service', () => {
  const node = (name: string, addresses: { type: string; address: string }[]): Node => ({ metadata: { name }, status: { addresses } });
  const pod = (nodeName?: string): Pod => ({ metadata: { name: 'p' }, spec: { containers: [], ...(nodeName ? { nodeName } : {}) } });
  it("takes the nodes of the controller's pods: ExternalIP, else InternalIP, each once, sorted", () => {
    const nodes = [
      node('n1', [{ type: 'InternalIP', address: '172.23.0.11' }]),
      node('n2', [
        { type: 'InternalIP', address: '172.23.0.12' },
        { type: 'ExternalIP', address: '192.0.2.12' },
      ]),
      node('n3', [{ type: 'Hostname', address: 'n3' }]),
    ];
    expect(nodeAddresses([pod('n2'), pod('n1'), pod('n1'), pod(), pod('n3'), pod('gone')], nodes)).toEqual([{ ip: '172.23.0.11' }, { ip: '192.0.2.12' }]);
  });
});
