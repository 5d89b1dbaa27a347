import { describe, expect, it } from 'vitest';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { speakerOrder } from '@kemu/api';
import { announcedBy, electAddresses } from './announce.js';

const NODES = ['node-1', 'node-2', 'node-3'];
const IP = '172.28.255.1';

const node = (name: string, ready = true, labels: Record<string, string> = {}): Node => ({
  metadata: { name, labels },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown' }] },
});
const ready = (...names: string[]) => names.map((n) => node(n));

const lb = (name: string, ip: string | undefined, extra: { ns?: string; policy?: 'Local' | 'Cluster'; cls?: string; type?: string } = {}): Service => ({
  metadata: { name, namespace: extra.ns ?? 'default' },
  spec: {
    type: extra.type ?? 'LoadBalancer',
    ports: [{ port: 80 }],
    ...(extra.policy ? { externalTrafficPolicy: extra.policy } : {}),
    ...(extra.cls ? { loadBalancerClass: extra.cls } : {}),
  },
  status: ip ? { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } : {},
});

/** A slice of `svc` with one endpoint per [node, ready]. */
const slice = (svc: string, eps: [string, boolean][], ns = 'default'): EndpointSlice => ({
  addressType: 'IPv4',
  metadata: { name: `${svc}-abc`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
  ports: [{ port: 8080 }],
  endpoints: eps.map(([nodeName, r], i) => ({ addresses: [`10.244.${i}.5`], nodeName, conditions: { ready: r, serving: r } })),
});

/** Which nodes would hold each address: every node asks for itself, as each speaker does. */
const holders = (services: Service[], slices: EndpointSlice[], nodes: Node[]) => {
  const el = electAddresses(services, slices, nodes);
  return Object.fromEntries(el.map((e) => [e.ip, NODES.filter((n) => announcedBy(n, el).some((x) => x.ip === e.ip))]));
};

describe('electAddresses', () => {
  it('exactly one node announces an address: the first Ready node in its hash order', () => {
    const el = electAddresses([lb('web', IP)], [slice('web', [['node-2', true]])], ready(...NODES));
    expect(el).toEqual([{ ip: IP, node: speakerOrder(IP, NODES)[0], services: ['default/web'] }]);
    expect(holders([lb('web', IP)], [slice('web', [['node-2', true]])], ready(...NODES))[IP]).toHaveLength(1);
  });

  it('when the elected node is not Ready, the next in the order takes the address', () => {
    const [first, second] = speakerOrder(IP, NODES);
    const nodes = NODES.map((n) => node(n, n !== first));
    expect(electAddresses([lb('web', IP)], [slice('web', [['node-1', true]])], nodes)[0].node).toBe(second);
  });

  it('a node labelled exclude-from-external-load-balancers never announces', () => {
    const first = speakerOrder(IP, NODES)[0];
    const nodes = NODES.map((n) => node(n, true, n === first ? { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } : {}));
    expect(electAddresses([lb('web', IP)], [slice('web', [['node-1', true]])], nodes)[0].node).not.toBe(first);
  });

  it.each<[string, Service[], EndpointSlice[]]>([
    ['a pending Service (no address yet)', [lb('web', undefined)], [slice('web', [['node-1', true]])]],
    ['a Service of another loadBalancerClass', [lb('web', IP, { cls: 'example.com/other' })], [slice('web', [['node-1', true]])]],
    ['a NodePort Service still showing an old address', [lb('web', IP, { type: 'NodePort' })], [slice('web', [['node-1', true]])]],
  ])('nothing for %s', (_n, services, slices) => expect(electAddresses(services, slices, ready(...NODES))).toEqual([]));

  it.each<[string, EndpointSlice[]]>([
    ['no slice', []],
    ['no ready endpoint', [slice('web', [['node-1', false]])]],
    ["only another namespace's slice of that name", [slice('web', [['node-1', true]], 'other')]],
  ])('nobody announces a Service with %s', (_n, slices) => {
    expect(electAddresses([lb('web', IP)], slices, ready(...NODES))).toEqual([{ ip: IP, services: ['default/web'] }]);
  });

  it('externalTrafficPolicy Local: only nodes with a ready endpoint of the Service are candidates', () => {
    const svc = lb('web', IP, { policy: 'Local' });
    for (const n of NODES) {
      const sl = [slice('web', [[n, true], ...NODES.filter((m) => m !== n).map((m): [string, boolean] => [m, false])])];
      expect(holders([svc], sl, ready(...NODES))[IP]).toEqual([n]);
    }
    // The pod's node is NotReady: nobody (the address must land where a pod answers).
    expect(electAddresses([svc], [slice('web', [['node-2', true]])], [node('node-1'), node('node-2', false), node('node-3')])[0].node).toBeUndefined();
  });

  it('Services sharing an address are one election, announced by one node', () => {
    const services = [lb('b', IP), lb('a', IP)];
    const slices = [slice('a', [['node-1', true]]), slice('b', [['node-3', true]])];
    const el = electAddresses(services, slices, ready(...NODES));
    expect(el).toEqual([{ ip: IP, node: speakerOrder(IP, NODES)[0], services: ['default/a', 'default/b'] }]);
  });

  it('addresses come sorted numerically and spread over the nodes', () => {
    const ips = Array.from({ length: 20 }, (_, i) => `172.28.255.${20 - i}`);
    const services = ips.map((ip, i) => lb(`s${i}`, ip));
    const slices = ips.map((_, i) => slice(`s${i}`, [['node-1', true]]));
    const el = electAddresses(services, slices, ready(...NODES));
    expect(el.map((e) => e.ip)).toEqual([...ips].reverse());
    expect(new Set(el.map((e) => e.node)).size).toBe(3);
    for (const e of el) expect(e.node).toBe(speakerOrder(e.ip, NODES)[0]);
  });
});

describe('announcedBy', () => {
  it("is the node's share of the elections", () => {
    const el = [
      { ip: '172.28.255.1', node: 'node-1', services: ['default/a'] },
      { ip: '172.28.255.2', node: 'node-2', services: ['default/b'] },
      { ip: '172.28.255.3', services: ['default/c'] },
    ];
    expect(announcedBy('node-1', el).map((e) => e.ip)).toEqual(['172.28.255.1']);
    expect(announcedBy('node-3', el)).toEqual([]);
  });
});
