import { describe, expect, it } from 'vitest';
import { chooseDataPath, describeDataPath, kernelHasIpvs } from './data-path.js';

describe('chooseDataPath', () => {
  it.each([
    ['iptables', false, { mode: 'iptables', dataPath: 'iptables' }],
    ['nftables', true, { mode: 'nftables', dataPath: 'nftables' }],
    ['userspace', false, { mode: 'userspace', dataPath: 'userspace', scheduler: 'lc' }],
    [
      'ipvs',
      false,
      {
        mode: 'ipvs',
        dataPath: 'userspace',
        scheduler: 'lc',
        fallback: 'IPVS not available in this kernel; serving the lc scheduler through the userspace data path',
      },
    ],
    [
      'ipvs',
      true,
      {
        mode: 'ipvs',
        dataPath: 'userspace',
        scheduler: 'lc',
        fallback: 'kemu does not program kernel IPVS yet; serving the lc scheduler through the userspace data path',
      },
    ],
  ] as const)('%s (kernel IPVS %s)', (mode, ipvs, want) => {
    expect(chooseDataPath(mode, 'lc', ipvs)).toEqual(want);
  });

  it('describes the data path for /proxyMode', () => {
    expect(describeDataPath(chooseDataPath('iptables', 'rr', false))).toBe('iptables');
    expect(describeDataPath(chooseDataPath('ipvs', 'sh', false))).toBe('userspace; scheduler=sh');
  });

  it('finds kernel IPVS through /proc/net/ip_vs', () => {
    expect(kernelHasIpvs((p) => p === '/proc/net/ip_vs')).toBe(true);
    expect(kernelHasIpvs(() => false)).toBe(false);
  });
});
