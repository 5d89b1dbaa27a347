import { describe, expect, it } from 'vitest';
import { nextPodCIDR } from './node-ipam.js';

describe('nextPodCIDR', () => {
  it('hands out the first free /24 of the cluster CIDR', () => {
    expect(nextPodCIDR('10.244.0.0/16', new Set())).toBe('10.244.0.0/24');
    expect(nextPodCIDR('10.244.0.0/16', new Set(['10.244.0.0/24', '10.244.1.0/24']))).toBe('10.244.2.0/24');
  });
  it('cuts any prefix, not only a /16: a /12 continues past the first 256 blocks', () => {
    const used = new Set(Array.from({ length: 256 }, (_, i) => `10.240.${i}.0/24`));
    expect(nextPodCIDR('10.240.0.0/12', used)).toBe('10.241.0.0/24');
    expect(nextPodCIDR('192.168.4.0/23', new Set(['192.168.4.0/24']))).toBe('192.168.5.0/24');
  });
  it('says when every block is taken', () => {
    expect(nextPodCIDR('10.0.0.0/24', new Set(['10.0.0.0/24']))).toBeUndefined();
  });
});
