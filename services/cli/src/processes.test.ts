import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { segments, splitProcesses } from './processes.js';
import { parseCompose, startOrder } from './compose.js';

describe('supervisor segments', () => {
  it('splits --process=NAME segments after the supervisor script', () => {
    expect(splitProcesses(['node', '/r/services/cli/dist/supervise.js', '--process=a', 'node', 'a.js', '--x=1', '--process=b', 'b', '-v'])).toEqual([
      { name: 'a', command: ['node', 'a.js', '--x=1'] },
      { name: 'b', command: ['b', '-v'] },
    ]);
    expect(splitProcesses(['node', '/r/services/kubelet/dist/main.js'])).toBeUndefined();
  });
  it.each([
    [['x', '--process=a', 'y'], 'supervise: "x" comes before the first --process=NAME'],
    [['--process=a'], 'supervise: process "a" has no command'],
    [['--process=a', 'x', '--process=a', 'y'], 'supervise: two processes named "a"'],
    [['--process=A', 'x'], 'supervise: process name "A" must be lower-case letters, digits and dashes'],
    [[], 'supervise: no --process=NAME given'],
  ])('refuses %j', (args, want) => expect(() => segments(args)).toThrow(want));
});

describe('the repository compose file: a kubelet and a kube-proxy per node', () => {
  const text = readFileSync(new URL('../../../compose/docker-compose.yml', import.meta.url), 'utf8');
  const p = parseCompose(text, {
    KEMU_SUBNET: '172.30',
    KEMU_NODES: '2',
    KEMU_PROJECT: 'x',
    KEMU_STATE: '/s',
    KEMU_ROOT: '/r',
    KEMU_PROXY_MODE: 'nftables',
    KEMU_IPVS_SCHEDULER: 'sh',
  });
  const byName = new Map(p.services.map((s) => [s.name, s]));

  it('runs node-N as the kubelet and node-N/kube-proxy beside it, in its namespace, at its address', () => {
    expect(p.services.filter((s) => s.name.startsWith('node-')).map((s) => [s.name, s.process, s.netns, s.address])).toEqual([
      ['node-1', 'kubelet', undefined, '172.30.1.1'],
      ['node-1/kube-proxy', 'kube-proxy', 'node-1', '172.30.1.1'],
      ['node-1/netpol', 'netpol', 'node-1', '172.30.1.1'],
      ['node-2', 'kubelet', undefined, '172.30.1.2'],
      ['node-2/kube-proxy', 'kube-proxy', 'node-2', '172.30.1.2'],
      ['node-2/netpol', 'netpol', 'node-2', '172.30.1.2'],
    ]);
    expect(byName.get('node-1')?.command[3]).toBe('/r/services/kubelet/dist/bundle.mjs');
    const proxy = byName.get('node-2/kube-proxy')!;
    expect(proxy.command).toContain('/r/services/proxy/dist/bundle.mjs');
    expect(proxy.command).toContain('--token-file=/s/pki/proxy.token');
    expect(proxy.command).toContain('--proxy-mode=nftables');
    expect(proxy.command).toContain('--ipvs-scheduler=sh');
    expect(proxy.environment.NODE_NAME).toBe('node-2');
    expect(proxy.environment.NODE_IP).toBe('172.30.1.2');
  });

  it('checks both through the node healthcheck, and starts the proxies after the api-server', () => {
    expect(byName.get('node-1')?.healthcheck?.join(' ')).toMatch(/10248\/healthz.*10256\/healthz/);
    expect(byName.get('node-1/kube-proxy')?.healthcheck).toBeUndefined();
    const order = startOrder(p.services).map((s) => s.name);
    expect(order.indexOf('apiserver')).toBeLessThan(order.indexOf('node-1/kube-proxy'));
  });

  it("restarts every long-running process (each node's three on their own) unless stopped; init runs once", () => {
    expect(p.services.map((s) => [s.name, s.restart])).toEqual([
      ['init', 'no'],
      ['etcd', 'unless-stopped'],
      ['apiserver', 'unless-stopped'],
      ['controller-manager', 'unless-stopped'],
      ['controller-manager-2', 'unless-stopped'],
      ['scheduler', 'unless-stopped'],
      ['scheduler-2', 'unless-stopped'],
      ['node-1', 'unless-stopped'],
      ['node-1/kube-proxy', 'unless-stopped'],
      ['node-1/netpol', 'unless-stopped'],
      ['node-2', 'unless-stopped'],
      ['node-2/kube-proxy', 'unless-stopped'],
      ['node-2/netpol', 'unless-stopped'],
    ]);
  });

  it('defaults to iptables, and to the rr scheduler', () => {
    const q = parseCompose(text, { KEMU_NODES: '1' });
    expect(q.services.find((s) => s.name === 'node-1/kube-proxy')?.command).toContain('--proxy-mode=iptables');
    expect(q.services.find((s) => s.name === 'node-1/kube-proxy')?.command).toContain('--ipvs-scheduler=rr');
  });
});
