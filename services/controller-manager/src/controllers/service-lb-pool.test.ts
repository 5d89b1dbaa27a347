import { describe, expect, it } from 'vitest';
import { AddressError } from '@kemu/api';
import type { Service } from 'kubernetes-types/core/v1.js';
import { claimOf, defaultLbRange, formatLbRange, LbAllocator, nodeCidrFromApiserver, parseLbRange, requestedIP, type LbClaim } from './service-lb-pool.js';
import { converge } from './service-lb.js';
import { lbPoolOf } from '../server.js';

const claim = (ports: string[] = ['TCP/80'], sharingKey = '', backendKey = ''): LbClaim => ({ ports, sharingKey, backendKey });
const svc = (o: { annotations?: Record<string, string>; lbIP?: string; ip?: string; ports?: number[]; local?: boolean } = {}): Service => ({
  metadata: { name: 's', namespace: 'ns', annotations: o.annotations },
  spec: {
    type: 'LoadBalancer',
    ports: (o.ports ?? [80]).map((port) => ({ port, protocol: 'TCP' })),
    loadBalancerIP: o.lbIP,
    selector: { app: 'web', tier: 'a' },
    externalTrafficPolicy: o.local ? 'Local' : 'Cluster',
  },
  status: { loadBalancer: o.ip ? { ingress: [{ ip: o.ip }] } : {} },
});

describe('parseLbRange', () => {
  it.each([
    ['172.28.255.1-172.28.255.254', '172.28.255.1-172.28.255.254'],
    ['10.0.0.0/30', '10.0.0.0-10.0.0.3'],
    ['10.0.0.7/32', '10.0.0.7'],
    ['10.0.0.5 - 10.0.0.6, 10.1.0.0/31', '10.0.0.5-10.0.0.6,10.1.0.0-10.1.0.1'],
  ])('%s → %s', (text, want) => expect(formatLbRange(parseLbRange(text))).toBe(want));
  it.each(['', '10.0.0.9-10.0.0.1', '10.0.0.1-', 'fd00::/64', '10.0.0.1-10.0.0.2-10.0.0.3', 'pool'])('refuses %j', (text) =>
    expect(() => parseLbRange(text)).toThrow(AddressError),
  );
});

describe('default pool', () => {
  it.each([
    ['172.28.0.0/16', '172.28.255.1-172.28.255.254'],
    ['10.0.0.0/8', '10.255.255.1-10.255.255.254'],
    ['192.168.1.0/24', '192.168.1.1-192.168.1.254'],
    ['192.168.1.0/26', '192.168.1.32-192.168.1.62'],
  ])('the top of node network %s is %s', (cidr, want) => expect(formatLbRange(defaultLbRange(cidr))).toBe(want));
  it.each([
    ['172.18.0.3:6444', '172.18.0.0/16'],
    ['https://172.28.0.3:6443', '172.28.0.0/16'],
    ['127.0.0.1:6444', undefined],
    ['apiserver:6444', undefined],
  ])('the api-server at %s says the node network is %s', (addr, want) => expect(nodeCidrFromApiserver(addr)).toBe(want));
  it('--lb-range wins over --node-cidr, which wins over the api-server address', () => {
    expect(formatLbRange(lbPoolOf({ apiserver: '172.18.0.3:6444' }))).toBe('172.18.255.1-172.18.255.254');
    expect(formatLbRange(lbPoolOf({ apiserver: '172.18.0.3:6444', nodeCIDR: '10.5.0.0/16' }))).toBe('10.5.255.1-10.5.255.254');
    expect(formatLbRange(lbPoolOf({ apiserver: '172.18.0.3:6444', nodeCIDR: '10.5.0.0/16', lbRange: '10.9.0.1-10.9.0.2' }))).toBe('10.9.0.1-10.9.0.2');
    expect(lbPoolOf({ apiserver: '127.0.0.1:6444' })).toEqual([]);
  });
});

describe('what a Service asks for', () => {
  it.each<[string, Service, { ip?: string; error?: string }]>([
    ['nothing', svc(), {}],
    ['spec.loadBalancerIP', svc({ lbIP: '10.0.0.2' }), { ip: '10.0.0.2' }],
    ['the annotation', svc({ annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.3' } }), { ip: '10.0.0.3' }],
    ['the deprecated annotation', svc({ annotations: { 'metallb.universe.tf/loadBalancerIPs': '10.0.0.4' } }), { ip: '10.0.0.4' }],
    [
      'both',
      svc({ lbIP: '10.0.0.2', annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.3' } }),
      { error: 'service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP' },
    ],
    ['not an address', svc({ annotations: { 'metallb.io/loadBalancerIPs': 'ten' } }), { error: 'invalid metallb.io/loadBalancerIPs: "ten"' }],
  ])('%s', (_n, s, want) => expect(requestedIP(s)).toEqual(want));
  it('a claim: ports, the sharing key, and the selector only with externalTrafficPolicy Local', () => {
    expect(claimOf(svc({ ports: [80, 443], annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' } }))).toEqual({
      ports: ['TCP/80', 'TCP/443'],
      sharingKey: 'k',
      backendKey: '',
    });
    expect(claimOf(svc({ local: true })).backendKey).toBe('app=web,tier=a');
  });
});

describe('LbAllocator', () => {
  const pool = parseLbRange('10.0.0.1-10.0.0.3');
  it('hands out the pool in order, keeps what a key holds, and says when it is exhausted', () => {
    const a = new LbAllocator(pool);
    expect(a.allocate('ns/a', claim())).toEqual({ ip: '10.0.0.1' });
    expect(a.allocate('ns/b', claim())).toEqual({ ip: '10.0.0.2' });
    expect(a.allocate('ns/a', claim())).toEqual({ ip: '10.0.0.1' });
    expect(a.allocate('ns/c', claim())).toEqual({ ip: '10.0.0.3' });
    expect(a.allocate('ns/d', claim())).toEqual({ error: 'no available IPs' });
    expect(a.release('ns/b')).toBe(true);
    expect(a.allocate('ns/d', claim())).toEqual({ ip: '10.0.0.2' });
  });
  it.each<[string, LbClaim, LbClaim, string | undefined]>([
    ['no sharing key', claim(), claim(['TCP/81']), `can't change sharing key for "ns/b", address also in use by ns/a`],
    ['different sharing keys', claim(['TCP/80'], 'x'), claim(['TCP/81'], 'y'), `can't change sharing key for "ns/b", address also in use by ns/a`],
    ['same key, a port clash', claim(['TCP/80'], 'x'), claim(['TCP/80'], 'x'), 'port TCP/80 is already in use on "10.0.0.1"'],
    ['same key, other protocol', claim(['TCP/53'], 'x'), claim(['UDP/53'], 'x'), undefined],
    [
      'same key, different Local backends',
      claim(['TCP/80'], 'x', 'app=a'),
      claim(['TCP/81'], 'x', 'app=b'),
      `can't change sharing key for "ns/b", address also in use by ns/a`,
    ],
  ])('sharing 10.0.0.1: %s', (_n, first, second, want) => {
    const a = new LbAllocator(pool);
    expect(a.assign('ns/a', '10.0.0.1', first)).toBeUndefined();
    expect(a.assign('ns/b', '10.0.0.1', second)).toBe(want);
  });
  it('allocate joins a shared address before taking a free one', () => {
    const a = new LbAllocator(pool);
    a.allocate('ns/a', claim(['TCP/80'], 'x'));
    expect(a.allocate('ns/b', claim(['TCP/443'], 'x'))).toEqual({ ip: '10.0.0.1' });
    expect(a.used).toBe(1);
    expect(a.allocate('ns/c', claim(['TCP/443'], 'x'))).toEqual({ ip: '10.0.0.2' });
  });
  it('refuses an address outside the pool with MetalLB’s words', () => {
    expect(new LbAllocator(pool).assign('ns/a', '10.0.0.9', claim())).toBe('"10.0.0.9" is not allowed in config');
  });
});

describe('converge', () => {
  const pool = parseLbRange('10.0.0.1-10.0.0.2');
  it.each<[string, Service, { ip?: string; reasons: string[]; message?: string }]>([
    ['a new Service gets the first address', svc(), { ip: '10.0.0.1', reasons: ['IPAllocated'], message: 'Assigned IP ["10.0.0.1"]' }],
    ['an address shown and free is kept, silently', svc({ ip: '10.0.0.2' }), { ip: '10.0.0.2', reasons: [] }],
    ['a requested address', svc({ lbIP: '10.0.0.2' }), { ip: '10.0.0.2', reasons: ['IPAllocated'] }],
    [
      'a requested address outside the pool',
      svc({ lbIP: '10.9.9.9' }),
      { reasons: ['AllocationFailed'], message: 'Failed to allocate IP for "ns/s": "10.9.9.9" is not allowed in config' },
    ],
    [
      'a new request moves the address',
      svc({ ip: '10.0.0.1', annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.2' } }),
      { ip: '10.0.0.2', reasons: ['IPAllocated'] },
    ],
    ['an address out of the pool (the range changed) is replaced', svc({ ip: '10.7.0.1' }), { ip: '10.0.0.1', reasons: ['ClearAssignment', 'IPAllocated'] }],
    [
      'an invalid request keeps a working address',
      svc({ ip: '10.0.0.1', annotations: { 'metallb.io/loadBalancerIPs': 'x' } }),
      { ip: '10.0.0.1', reasons: ['LoadBalancerFailed'] },
    ],
  ])('%s', (_n, s, want) => {
    const d = converge(new LbAllocator(pool), 'ns/s', s);
    expect(d.ip).toBe(want.ip);
    expect(d.events.map((e) => e.reason)).toEqual(want.reasons);
    if (want.message) expect(d.events.at(-1)?.message).toBe(want.message);
  });
  it('an address allocated but not yet in the status (a cache behind the write) is not announced twice', () => {
    const a = new LbAllocator(pool);
    expect(converge(a, 'ns/s', svc()).events.map((e) => e.reason)).toEqual(['IPAllocated']);
    expect(converge(a, 'ns/s', svc())).toEqual({ ip: '10.0.0.1', events: [] });
  });
  it('an exhausted pool leaves the Service without an address and holding nothing', () => {
    const a = new LbAllocator(parseLbRange('10.0.0.1/32'));
    a.allocate('ns/other', claim());
    const d = converge(a, 'ns/s', svc());
    expect(d).toEqual({ events: [{ type: 'Warning', reason: 'AllocationFailed', message: 'Failed to allocate IP for "ns/s": no available IPs' }] });
    expect(a.ipOf('ns/s')).toBeUndefined();
  });
  it('an address another Service holds is cleared and a new one allocated', () => {
    const a = new LbAllocator(pool);
    a.assign('ns/old', '10.0.0.1', claim());
    const d = converge(a, 'ns/s', svc({ ip: '10.0.0.1' }));
    expect(d.ip).toBe('10.0.0.2');
    expect(d.events[0].message).toBe(
      `current IP for "ns/s" not allowed by config, will attempt for new IP assignment: can't change sharing key for "ns/s", address also in use by ns/old`,
    );
  });
});
