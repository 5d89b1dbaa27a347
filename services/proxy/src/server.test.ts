import { describe, expect, it } from 'vitest';
import { start, UnsupportedModeError } from './server.js';

describe('kube-proxy start', () => {
  it.each(['ipvs', 'userspace'] as const)('refuses mode %s before touching the kernel or the api-server', async (mode) => {
    const calls: string[] = [];
    const exec = (cmd: string) => {
      calls.push(cmd);
      return Promise.resolve({ code: 0, stdout: '', stderr: '' });
    };
    await expect(start({ apiserver: 'x:1', caFile: '/nonexistent', tokenFile: '/nonexistent', nodeName: 'n', mode, exec })).rejects.toThrow(UnsupportedModeError);
    await expect(start({ apiserver: 'x:1', caFile: '/nonexistent', tokenFile: '/nonexistent', nodeName: 'n', mode, exec })).rejects.toThrow(`proxy mode "${mode}" is not implemented yet in kemu (use iptables or nftables)`);
    expect(calls).toEqual([]);
  });
});
