import { describe, expect, it } from 'vitest';
import {
  AddressError,
  broadcastAddress,
  cidrSize,
  contains,
  containsCidr,
  formatCidr,
  formatIPv4,
  isCidr,
  isIPv4,
  netmask,
  nthAddress,
  offsetOf,
  parseCidr,
  parseIPv4,
  subnet,
  subnetCount,
} from './ipv4.js';

describe('IPv4 addresses', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.96.0.1', 0x0a600001],
    ['172.28.1.3', 0xac1c0103],
    ['255.255.255.255', 0xffffffff],
  ])('%s is %d and back', (text, n) => {
    expect(parseIPv4(text)).toBe(n);
    expect(formatIPv4(n)).toBe(text);
  });

  it.each(['', '10.0.0', '10.0.0.0.1', '256.0.0.1', '10.0.0.-1', '10.00.0.1', '010.0.0.1', '10.0.0.1 ', 'a.b.c.d', '10..0.1', '1e1.0.0.1'])(
    'refuses %j',
    (text) => {
      expect(() => parseIPv4(text)).toThrow(AddressError);
      expect(isIPv4(text)).toBe(false);
    },
  );

  it.each([-1, 2 ** 32, 1.5])('formatIPv4 refuses %d', (n) => expect(() => formatIPv4(n)).toThrow(AddressError));

  it.each([
    [0, '0.0.0.0'],
    [8, '255.0.0.0'],
    [12, '255.240.0.0'],
    [24, '255.255.255.0'],
    [31, '255.255.255.254'],
    [32, '255.255.255.255'],
  ])('netmask /%d is %s', (p, mask) => expect(formatIPv4(netmask(p))).toBe(mask));
});

describe('CIDR blocks', () => {
  it.each([
    // text, canonical, prefix, size, first (network), last (broadcast)
    ['10.96.0.0/12', '10.96.0.0/12', 12, 1 << 20, '10.96.0.0', '10.111.255.255'],
    ['10.96.0.5/12', '10.96.0.0/12', 12, 1 << 20, '10.96.0.0', '10.111.255.255'],
    ['10.244.0.0/16', '10.244.0.0/16', 16, 65536, '10.244.0.0', '10.244.255.255'],
    ['10.244.3.0/24', '10.244.3.0/24', 24, 256, '10.244.3.0', '10.244.3.255'],
    ['192.168.1.7/32', '192.168.1.7/32', 32, 1, '192.168.1.7', '192.168.1.7'],
    ['0.0.0.0/0', '0.0.0.0/0', 0, 2 ** 32, '0.0.0.0', '255.255.255.255'],
  ])('%s', (text, canonical, prefix, size, first, last) => {
    const c = parseCidr(text);
    expect(c.prefix).toBe(prefix);
    expect(formatCidr(c)).toBe(canonical);
    expect(cidrSize(c)).toBe(size);
    expect(formatIPv4(c.network)).toBe(first);
    expect(formatIPv4(broadcastAddress(c))).toBe(last);
    expect(isCidr(text)).toBe(true);
  });

  it('keeps the address as written', () => expect(formatIPv4(parseCidr('10.96.0.5/12').address)).toBe('10.96.0.5'));

  it.each(['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0/8', '10.0.0.0/8/8', '/8', '10.0.0.0/a'])('refuses %j', (text) => {
    expect(() => parseCidr(text)).toThrow(`invalid CIDR address: ${text}`);
    expect(isCidr(text)).toBe(false);
  });

  // An address (contains) or a block (containsCidr) inside a block.
  it.each([
    ['10.96.0.0/12', '10.96.0.1', true],
    ['10.96.0.0/12', '10.111.255.255', true],
    ['10.96.0.0/12', '10.112.0.0', false],
    ['10.96.0.0/12', '10.95.255.255', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    ['172.28.0.0/16', '172.29.0.1', false],
    ['10.244.0.0/16', '10.244.7.0/24', true],
    ['10.244.0.0/16', '10.244.0.0/16', true],
    ['10.244.0.0/16', '10.0.0.0/8', false],
    ['10.244.0.0/16', '10.245.0.0/24', false],
  ])('%s contains %s: %s', (outer, inner, want) => expect(inner.includes('/') ? containsCidr(outer, inner) : contains(outer, inner)).toBe(want));

  it.each([
    ['10.96.0.0/12', 1, '10.96.0.1'],
    ['10.96.0.0/12', 10, '10.96.0.10'],
    ['10.244.1.0/24', 1, '10.244.1.1'],
    ['10.244.1.0/24', -1, '10.244.1.255'],
    ['10.244.1.0/24', -2, '10.244.1.254'],
    ['10.240.0.0/12', 300, '10.240.1.44'],
  ])('address %i of %s is %s', (c, n, want) => {
    expect(formatIPv4(nthAddress(c, n))).toBe(want);
    expect(offsetOf(c, want)).toBe(n < 0 ? cidrSize(c) + n : n);
  });

  it.each([
    ['10.244.1.0/24', 256],
    ['10.244.1.0/24', -257],
    ['10.244.1.0/24', 0.5],
  ])('address %s of %i is refused', (c, n) => expect(() => nthAddress(c, n)).toThrow(AddressError));

  it('offsetOf refuses an address outside', () => expect(() => offsetOf('10.244.1.0/24', '10.244.2.0')).toThrow('10.244.2.0 is not in 10.244.1.0/24'));
});

describe('subnets', () => {
  it.each([
    // The node IPAM case: any cluster CIDR cut into /24s, not only a /16.
    ['10.244.0.0/16', 24, 0, '10.244.0.0/24'],
    ['10.244.0.0/16', 24, 255, '10.244.255.0/24'],
    ['10.240.0.0/12', 24, 0, '10.240.0.0/24'],
    ['10.240.0.0/12', 24, 256, '10.241.0.0/24'],
    ['10.240.0.0/12', 24, 257, '10.241.1.0/24'],
    ['10.240.0.0/12', 24, 4095, '10.255.255.0/24'],
    ['10.0.0.0/8', 16, 200, '10.200.0.0/16'],
    ['10.244.0.0/16', 26, 5, '10.244.1.64/26'],
    ['10.244.0.0/16', 16, 0, '10.244.0.0/16'],
    ['10.244.0.5/16', 24, 1, '10.244.1.0/24'],
  ])('%s as /%d: number %d is %s', (c, p, i, want) => expect(formatCidr(subnet(c, p, i))).toBe(want));

  it.each([
    ['10.244.0.0/16', 24, 256],
    ['10.240.0.0/12', 24, 4096],
    ['10.244.0.0/16', 26, 1024],
    ['0.0.0.0/0', 8, 256],
  ])('%s has %d /%d subnets', (c, p, n) => expect(subnetCount(c, p)).toBe(n));

  it.each([
    ['10.244.0.0/16', 24, 256, /subnet 256 is outside 10.244.0.0\/16 cut into \/24s \(256 of them\)/],
    ['10.244.0.0/16', 24, -1, /subnet -1/],
    ['10.244.0.0/16', 8, 0, /cannot cut 10.244.0.0\/16 into \/8s/],
    ['10.244.0.0/16', 33, 0, /cannot cut/],
  ])('%s as /%d: %d is refused', (c, p, i, want) => expect(() => subnet(c, p, i)).toThrow(want));
});
