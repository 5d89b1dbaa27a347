import { describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import { start } from './server.js';

/** A logger whose lines land in an array (parsed JSON). */
function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

describe('kube-proxy start', () => {
  it("ipvs mode without kernel IPVS says so and removes the other modes' rules before it reads its credentials", async () => {
    const calls: string[] = [];
    const exec = (cmd: string, args: readonly string[]) => {
      calls.push([cmd, ...args].join(' '));
      return Promise.resolve({ code: 1, stdout: '', stderr: 'nothing here' });
    };
    const sysctl = { read: () => Promise.resolve('1'), write: () => Promise.resolve() };
    const { log, lines } = capture();
    await expect(
      start(
        {
          apiserver: 'x:1',
          caFile: '/nonexistent',
          tokenFile: '/nonexistent',
          nodeName: 'n',
          mode: 'ipvs',
          ipvsScheduler: 'sh',
          exec,
          sysctl,
          kernelHasIpvs: () => false,
        },
        log,
      ),
    ).rejects.toThrow(/ENOENT/);
    expect(lines.find((l) => l.level === 40)?.msg).toBe('IPVS not available in this kernel; serving the sh scheduler through the userspace data path');
    // The iptables mode's chains go from both backends: the host's iptables and iptables-legacy.
    expect(calls).toEqual(['nft list table ip kube-proxy', 'iptables-save', 'iptables-legacy-save']);
  });
});
