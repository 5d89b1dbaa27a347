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
