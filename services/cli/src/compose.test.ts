import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { interpolate, parseCompose, startOrder } from './compose.js';

describe('compose interpolation', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A-d}', { A: '' }, ''],
    ['$A/b', { A: 'x' }, 'x/b'],
    ['$$A', { A: 'x' }, '$A'],
  ])('%s', (text, env, want) => expect(interpolate(text, env)).toBe(want));
});

describe('the repository compose file', () => {
  const text = readFileSync(new URL('../../../compose/docker-compose.yml', import.meta.url), 'utf8');
  it('gives every service a fixed address on the cluster network', () => {
    const p = parseCompose(text, { KEMU_SUBNET: '172.30', KEMU_STATE: '/s', KEMU_ROOT: '/r' });
    expect(p.subnet).toBe('172.30.0.0/16');
    expect(p.gateway).toBe('172.30.0.1');
    const api = p.services.find((s) => s.name === 'apiserver')!;
    expect(api.address).toBe('172.30.0.3');
    expect(api.command).toContain('--etcd-servers=http://172.30.0.2:2379');
    expect(api.command[1]).toBe('/r/services/apiserver/dist/main.js');
    expect(api.healthcheck?.[0]).toBe('curl');
  });
  it('expands the nodes: node-1..N at a.b.1.i with their names, addresses and namespaces; none for --nodes 0', () => {
    const p = parseCompose(text, { KEMU_SUBNET: '172.30', KEMU_NODES: '2', KEMU_PROJECT: 'x', KEMU_BACKEND: 'vxlan' });
    const nodes = p.services.filter((s) => s.name.startsWith('node-'));
    expect(nodes.map((n) => [n.name, n.address, n.environment?.NODE_NETNS])).toEqual([['node-1', '172.30.1.1', 'x-node-1'], ['node-2', '172.30.1.2', 'x-node-2']]);
    expect(nodes[0]!.command).toContain('--network-backend=vxlan');
    expect(parseCompose(text, { KEMU_NODES: '0' }).services.some((s) => s.name.startsWith('node'))).toBe(false);
  });
  it('starts dependencies first', () => {
    const p = parseCompose(text, {});
    const order = startOrder(p.services).map((s) => s.name);
    expect(order.indexOf('etcd')).toBeLessThan(order.indexOf('apiserver'));
    expect(order.indexOf('init')).toBeLessThan(order.indexOf('apiserver'));
  });
  it('refuses cycles', () => {
    const bad = 'name: x\nservices:\n  a: {depends_on: [b]}\n  b: {depends_on: [a]}\nnetworks:\n  n: {ipam: {config: [{subnet: 10.0.0.0/8}]}}\n';
    expect(() => startOrder(parseCompose(bad, {}).services)).toThrow(/cycle/);
  });
});
