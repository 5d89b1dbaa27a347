import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Node } from 'kubernetes-types/core/v1.js';
import { desiredRoute, NodeRoutes, type NodeRoute, type RouteProgrammer } from './node-routes.js';
import { vtepAnnotations } from './vxlan.js';

const node = (name: string, podCIDR?: string, ip?: string, o: { annotations?: Record<string, string>; ready?: string } = {}): Node => ({
  metadata: { name, annotations: o.annotations },
  spec: { podCIDR },
  status: {
    addresses: ip
      ? [
          { type: 'InternalIP', address: ip },
          { type: 'Hostname', address: name },
        ]
      : [],
    conditions: [{ type: 'Ready', status: o.ready ?? 'True' }],
  },
});

/** A cache of Nodes, a programmer that records its calls, and the routes under test. */
function fixture(backend: 'host-gw' | 'vxlan' = 'host-gw') {
  const nodes = new Map<string, Node>();
  const calls: string[] = [];
  let failing = false;
  const programmer: RouteProgrammer = {
    add: (r: NodeRoute) => {
      if (failing) return Promise.reject(new Error('ip: RTNETLINK answers: Network is unreachable'));
      calls.push(`add ${r.podCIDR} via ${r.nodeIP}${r.mac ? ` mac ${r.mac}` : ''}`);
      return Promise.resolve();
    },
    remove: (r: NodeRoute) => Promise.resolve(void calls.push(`remove ${r.podCIDR} via ${r.nodeIP}`)),
  };
  const routes = new NodeRoutes({ self: 'node-1', backend, node: (n) => nodes.get(n), programmer, log: pino({ level: 'silent' }) });
  const set = (n: Node) => nodes.set(n.metadata!.name!, n);
  /** What an informer event and the worker after it do: the cache changes, then the node is synced. */
  const apply = async (...changes: (Node | { deleted: string })[]) => {
    for (const c of changes) {
      const name = 'deleted' in c ? c.deleted : c.metadata!.name!;
      if ('deleted' in c) nodes.delete(name);
      else set(c);
      await routes.sync(name);
    }
  };
  return { nodes, calls, routes, set, apply, fail: (v: boolean) => (failing = v) };
}

describe('the route a node needs', () => {
  it.each([
    [
      'another node with a podCIDR and an address',
      node('node-2', '10.244.2.0/24', '172.28.1.2'),
      'host-gw',
      { podCIDR: '10.244.2.0/24', nodeIP: '172.28.1.2' },
    ],
    ['itself', node('node-1', '10.244.1.0/24', '172.28.1.1'), 'host-gw', undefined],
    ['a node without a podCIDR yet', node('node-2', undefined, '172.28.1.2'), 'host-gw', undefined],
    ['a node without an address', node('node-2', '10.244.2.0/24'), 'host-gw', undefined],
    ['vxlan: a node that has not published its VTEP', node('node-2', '10.244.2.0/24', '172.28.1.2'), 'vxlan', undefined],
    [
      'vxlan: a node with its VTEP',
      node('node-2', '10.244.2.0/24', '172.28.1.2', { annotations: vtepAnnotations('aa:bb:cc:dd:ee:ff', '172.28.1.2') }),
      'vxlan',
      { podCIDR: '10.244.2.0/24', nodeIP: '172.28.1.2', mac: 'aa:bb:cc:dd:ee:ff' },
    ],
  ] as const)('%s', (_what, n, backend, want) => {
    expect(desiredRoute(n, 'node-1', backend)).toEqual(want);
  });
});

const withMac = (mac: string) => node('node-2', '10.244.2.0/24', '172.28.1.2', { annotations: vtepAnnotations(mac, '172.28.1.2') });

describe('programming routes to the other nodes', () => {
  // Informer events in order (a Node added or updated, or deleted), and the route calls they make.
  it.each<[string, 'host-gw' | 'vxlan', (Node | { deleted: string })[], string[]]>([
    [
      'programs a node once, not on every status update',
      'host-gw',
      [node('node-2', '10.244.2.0/24', '172.28.1.2'), node('node-2', '10.244.2.0/24', '172.28.1.2', { ready: 'False' })], // then a heartbeat: conditions only
      ['add 10.244.2.0/24 via 172.28.1.2'],
    ],
    [
      'replaces the route when the address changes, and moves it when the podCIDR changes',
      'host-gw',
      [node('node-2', '10.244.2.0/24', '172.28.1.2'), node('node-2', '10.244.2.0/24', '172.28.1.9'), node('node-2', '10.244.7.0/24', '172.28.1.9')],
      ['add 10.244.2.0/24 via 172.28.1.2', 'add 10.244.2.0/24 via 172.28.1.9', 'remove 10.244.2.0/24 via 172.28.1.9', 'add 10.244.7.0/24 via 172.28.1.9'],
    ],
    [
      'removes a deleted node’s route, unless another node holds its podCIDR now',
      'host-gw',
      [
        node('node-2', '10.244.2.0/24', '172.28.1.2'),
        node('node-3', '10.244.3.0/24', '172.28.1.3'),
        { deleted: 'node-2' },
        node('node-4', '10.244.3.0/24', '172.28.1.4'), // node-3's podCIDR, reallocated before node-3's delete is seen
        { deleted: 'node-3' },
      ],
      ['add 10.244.2.0/24 via 172.28.1.2', 'add 10.244.3.0/24 via 172.28.1.3', 'remove 10.244.2.0/24 via 172.28.1.2', 'add 10.244.3.0/24 via 172.28.1.4'],
    ],
    [
      'vxlan: programs a node once it publishes its VTEP, again when its MAC changes',
      'vxlan',
      [node('node-2', '10.244.2.0/24', '172.28.1.2'), withMac('aa:aa:aa:aa:aa:aa'), withMac('bb:bb:bb:bb:bb:bb')],
      [
        'add 10.244.2.0/24 via 172.28.1.2 mac aa:aa:aa:aa:aa:aa',
        'remove 10.244.2.0/24 via 172.28.1.2',
        'add 10.244.2.0/24 via 172.28.1.2 mac bb:bb:bb:bb:bb:bb',
      ],
    ],
  ])('%s', async (_what, backend, changes, calls) => {
    const f = fixture(backend);
    await f.apply(...changes);
    expect(f.calls).toEqual(calls);
  });

  it('never programs a route to itself; its own Node goes to ownNode', async () => {
    const f = fixture();
    const own: (string | undefined)[] = [];
    const routes = new NodeRoutes({
      self: 'node-1',
      backend: 'vxlan',
      node: (n) => f.nodes.get(n),
      programmer: { add: () => Promise.resolve(void f.calls.push('add')), remove: () => Promise.resolve(void f.calls.push('remove')) },
      ownNode: (n) => Promise.resolve(void own.push(n?.spec?.podCIDR)),
      log: pino({ level: 'silent' }),
    });
    f.set(node('node-1', '10.244.1.0/24', '172.28.1.1'));
    await routes.sync('node-1');
    await f.routes.sync('node-1');
    expect(f.calls).toEqual([]);
    expect(own).toEqual(['10.244.1.0/24']);
  });

  it('a failed route is an error (the queue retries it) and is tried again on the next sync', async () => {
    const f = fixture();
    f.set(node('node-2', '10.244.2.0/24', '172.28.1.2'));
    f.fail(true);
    await expect(f.routes.sync('node-2')).rejects.toThrow('Network is unreachable');
    f.fail(false);
    await f.routes.sync('node-2');
    expect(f.calls).toEqual(['add 10.244.2.0/24 via 172.28.1.2']);
  });

  it('handlers only enqueue: the worker programs, one name at a time', async () => {
    const f = fixture();
    f.set(node('node-2', '10.244.2.0/24', '172.28.1.2'));
    const n2 = f.nodes.get('node-2')!;
    f.routes.handlers.add!(n2 as never);
    f.routes.handlers.update!(n2 as never, n2 as never);
    expect(f.calls).toEqual([]); // nothing ran in the handlers
    const stop = new AbortController();
    const running = f.routes.run(stop.signal);
    await expect.poll(() => f.calls).toEqual(['add 10.244.2.0/24 via 172.28.1.2']);
    stop.abort();
    await running;
  });
});
