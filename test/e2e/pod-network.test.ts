/**
 * The kubelet's pod network on real network namespaces: two nodes on one
 * L2 segment, a cni0 bridge each, pods in namespaces of their own, host-gw
 * routes — pods reach each other on the same node and across nodes without
 * NAT. Everything it makes is removed afterwards, whatever happens.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, deleteSandbox, ensureBridge, routeToNode } from '../../services/kubelet/src/network/sandbox.js';
import { HostLocalIpam } from '../../services/kubelet/src/network/ipam.js';
import { waitFor } from './helpers.js';

const P = 'kemu-pn';
const NET = `${P}-net`;
const NODES = { a: { ns: `${P}-node-a`, ip: '172.31.0.11', cidr: '10.250.1.0/24' }, b: { ns: `${P}-node-b`, ip: '172.31.0.12', cidr: '10.250.2.0/24' } };
const made: string[] = [];
const servers: ChildProcess[] = [];

const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};
const curlIn = (ns: string, url: string) => spawnSync('ip', ['netns', 'exec', ns, 'curl', '-s', '--max-time', '3', url], { encoding: 'utf8' }).stdout;

function serve(ns: string, port: number): void {
  const code = `require('http').createServer((q,s)=>s.end('${ns} saw '+q.socket.remoteAddress.replace('::ffff:',''))).listen(${port})`;
  servers.push(spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: 'ignore' }));
}

beforeAll(() => {
  ip('netns', 'add', NET);
  made.push(NET);
  ip('-n', NET, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', NET, 'link', 'set', 'br0', 'up');
  for (const [k, n] of Object.entries(NODES)) {
    ip('netns', 'add', n.ns);
    made.push(n.ns);
    ip('-n', NET, 'link', 'add', `v-${k}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.ns);
    ip('-n', NET, 'link', 'set', `v-${k}`, 'master', 'br0', 'up');
    ip('-n', n.ns, 'addr', 'add', `${n.ip}/16`, 'dev', 'eth0');
    ip('-n', n.ns, 'link', 'set', 'eth0', 'up');
    ip('-n', n.ns, 'link', 'set', 'lo', 'up');
  }
});

afterAll(() => {
  for (const s of servers) s.kill('SIGKILL');
  for (const ns of made.reverse()) deleteSandbox(ns);
});

describe('pod network (bridge + host-gw)', () => {
  it('gives pods addresses from the node podCIDR and connects them across nodes without NAT', async () => {
    const ipamA = new HostLocalIpam(NODES.a.cidr);
    const ipamB = new HostLocalIpam(NODES.b.cidr);
    ensureBridge(NODES.a.ns, NODES.a.cidr, ipamA.gateway, { clusterCIDR: '10.250.0.0/16' });
    ensureBridge(NODES.b.ns, NODES.b.cidr, ipamB.gateway, { clusterCIDR: '10.250.0.0/16' });
    await routeToNode(NODES.a.ns, NODES.b.cidr, NODES.b.ip);
    await routeToNode(NODES.b.ns, NODES.a.cidr, NODES.a.ip);
    const pods = await Promise.all(
      [
        { ns: `${P}-pod-a1`, node: NODES.a, ipam: ipamA },
        { ns: `${P}-pod-a2`, node: NODES.a, ipam: ipamA },
        { ns: `${P}-pod-b1`, node: NODES.b, ipam: ipamB },
      ].map((p) => {
        made.push(p.ns);
        return createSandbox(p.node.ns, p.ns, p.ipam.allocate(p.ns), p.node.cidr, p.ipam.gateway);
      }),
    );
    expect(pods.map((p) => p.ip)).toEqual(['10.250.1.2', '10.250.1.3', '10.250.2.2']);
    serve(pods[0].podNs, 8080);
    serve(pods[2].podNs, 8080);
    // Across nodes, and the server sees the client's own pod address.
    const cross = await waitFor('cross-node HTTP', () => curlIn(pods[0].podNs, 'http://10.250.2.2:8080') || undefined, 10_000);
    expect(cross).toBe(`${pods[2].podNs} saw 10.250.1.2`);
    // On the same node, through the bridge.
    expect(await waitFor('same-node HTTP', () => curlIn(pods[1].podNs, 'http://10.250.1.2:8080') || undefined, 10_000)).toBe(`${pods[0].podNs} saw 10.250.1.3`);
    // Node to pod.
    expect(curlIn(NODES.b.ns, 'http://10.250.1.2:8080')).toBe(`${pods[0].podNs} saw 172.31.0.12`);
  });

  it('is idempotent and frees addresses', async () => {
    const ipam = new HostLocalIpam(NODES.a.cidr);
    const first = ipam.allocate('x');
    expect(ipam.allocate('x')).toBe(first);
    ipam.release('x');
    expect(ipam.allocations().size).toBe(0);
    const again = await createSandbox(NODES.a.ns, `${P}-pod-a1`, '10.250.1.2', NODES.a.cidr, '10.250.1.1');
    expect(again.ip).toBe('10.250.1.2');
  });
});
