import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../model/from-k8s.js';
import { makeService, makeSlice } from '../testing/fixtures.js';
import type { NodeFacts } from '../model/types.js';
import type { Exec } from './exec.js';
import { UserspaceProxier } from './userspace-proxier.js';

const node: NodeFacts = { nodeName: 'node-1', nodeIP: '172.22.1.1', localDetector: { mode: 'ClusterCIDR', cidr: '10.244.0.0/16' } };

function fakeKernel(saved = '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n') {
  const calls: { cmd: string; args: readonly string[]; input?: string }[] = [];
  const exec: Exec = (cmd, args, input) => {
    calls.push({ cmd, args, ...(input === undefined ? {} : { input }) });
    return Promise.resolve({ code: 0, stdout: cmd === 'iptables-save' ? saved : '', stderr: '' });
  };
  return { exec, calls };
}

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.on('connect', () => {
      c.destroy();
      resolve(false);
    });
    c.on('error', () => resolve(true));
  });

describe('UserspaceProxier', () => {
  it('listens per Service port, points the portals at the listener, adds the jumps once, and closes the listener of a removed Service', async () => {
    const k = fakeKernel();
    const p = new UserspaceProxier(k.exec, { scheduler: 'rr', listenHost: '127.0.0.1' });
    const web = makeService('ns', 'web', {
      clusterIP: '10.96.0.20',
      ports: [
        { port: 80, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    });
    const slice = makeSlice(
      'ns',
      'web',
      1,
      [{ addresses: ['10.244.1.5'], conditions: { ready: true } }],
      [{ port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }],
    );
    try {
      await p.sync(buildModel([web], [slice]), node, true);
      const tcp = p.proxyPort('ns/web:/TCP');
      const udp = p.proxyPort('ns/web:dns/UDP');
      expect(tcp).toBeGreaterThan(0);
      expect(udp).toBeGreaterThan(0);
      const restore = k.calls.find((c) => c.cmd === 'iptables-restore')?.input ?? '';
      expect(restore).toContain(
        `-A KUBE-PORTALS-CONTAINER -d 10.96.0.20/32 -p tcp -m comment --comment "ns/web" -m tcp --dport 80 -j REDIRECT --to-ports ${tcp}`,
      );
      expect(restore).toContain(
        `-A KUBE-PORTALS-HOST -d 10.96.0.20/32 -p udp -m comment --comment "ns/web:dns" -m udp --dport 53 -j DNAT --to-destination 172.22.1.1:${udp}`,
      );
      const jumps = k.calls.filter((c) => c.cmd === 'iptables').map((c) => c.args.join(' '));
      expect(jumps).toContain(
        '-w 5 -t nat -I PREROUTING 1 -m comment --comment handle ClusterIPs; NOTE: this must be before the NodePort rules -j KUBE-PORTALS-CONTAINER',
      );
      expect(jumps).toContain(
        '-w 5 -t nat -A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment handle service NodePorts; NOTE: this must be the last rule in the chain -j KUBE-NODEPORT-HOST',
      );
      expect(jumps).toHaveLength(8);

      // A partial sync keeps the listener and its port, and does not look at the jumps again.
      k.calls.length = 0;
      await p.sync(buildModel([web], [slice]), node, false);
      expect(p.proxyPort('ns/web:/TCP')).toBe(tcp);
      expect(k.calls.map((c) => c.cmd)).toEqual(['iptables-restore']);

      await p.sync(buildModel([], []), node, false);
      expect(p.proxyPort('ns/web:/TCP')).toBeUndefined();
      expect(await refused(tcp ?? 0)).toBe(true);
      expect(k.calls.at(-1)?.input).not.toContain('10.96.0.20');
    } finally {
      await p.stop();
    }
  });

  it('a Service port whose endpoints are all gone is rejected, not steered', async () => {
    const k = fakeKernel();
    const p = new UserspaceProxier(k.exec, { scheduler: 'rr', listenHost: '127.0.0.1' });
    try {
      await p.sync(buildModel([makeService('ns', 'empty', { clusterIP: '10.96.0.30', ports: [{ port: 80, protocol: 'TCP' }] })], []), node, true);
      const restore = k.calls.find((c) => c.cmd === 'iptables-restore')?.input ?? '';
      expect(restore).not.toContain('REDIRECT');
      expect(restore).toContain('-A KUBE-PORTALS-REJECT -d 10.96.0.30/32 -p tcp -m comment --comment "ns/empty has no endpoints"');
    } finally {
      await p.stop();
    }
  });
});
