/**
 * The VXLAN backend on a cluster of its own (`kemu up --backend vxlan`):
 * every node has a flannel.1 VTEP published in its annotations, routes to
 * the other nodes' pods go through the overlay, and pods on different nodes
 * talk over HTTP and UDP (agnhost netexec /dial).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './global-setup.js';
import type { Node } from 'kubernetes-types/core/v1.js';
import { netexecRunArgs, parseJson, waitFor } from './helpers.js';

const PROJECT = 'kemu-vx';
const home = mkdtempSync('/tmp/kemu-vx-');
const kemu = (...args: string[]) =>
  execFileSync(process.execPath, [CLI, '-p', PROJECT, '--subnet', '172.27', ...args], {
    env: { KEMU_DNS_FORWARD: 'off', ...process.env, KEMU_HOME: home },
    encoding: 'utf8',
  });
const kubectl = async (args: string[]) => (await execa('kubectl', ['--kubeconfig', join(home, PROJECT, 'kubeconfig'), ...args])).stdout;

beforeAll(() => {
  kemu('up', '--nodes', '2', '--backend', 'vxlan');
}, 120_000);

afterAll(() => {
  try {
    kemu('down');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

describe('VXLAN backend', () => {
  it('connects pods on different nodes through flannel.1', async () => {
    for (const node of ['node-1', 'node-2']) {
      await kubectl(netexecRunArgs(`nx-${node}`, node));
    }
    await kubectl(['wait', '--for=condition=Ready', 'pod/nx-node-1', 'pod/nx-node-2', '--timeout=60s']);
    const annotations = parseJson<Node>(await kubectl(['get', 'node', 'node-1', '-o', 'json'])).metadata?.annotations ?? {};
    expect(annotations['flannel.alpha.coreos.com/backend-type']).toBe('vxlan');
    expect(parseJson<{ VtepMAC?: string }>(annotations['flannel.alpha.coreos.com/backend-data'] ?? '{}').VtepMAC).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const routes = await waitFor('overlay route', () => {
      const r = spawnSync('ip', ['-n', `${PROJECT}-node-1`, 'route'], { encoding: 'utf8' }).stdout;
      return r.includes('dev flannel.1') ? r : undefined;
    });
    expect(routes).toMatch(/10\.244\.\d+\.0\/24 via 10\.244\.\d+\.0 dev flannel\.1 onlink/);
    const ip2 = await kubectl(['get', 'pod', 'nx-node-2', '-o', 'jsonpath={.status.podIP}']);
    for (const protocol of ['http', 'udp']) {
      const port = protocol === 'http' ? 8080 : 8081;
      const out = parseJson(
        await kubectl([
          'exec',
          'nx-node-1',
          '--',
          'curl',
          '-s',
          `http://localhost:8080/dial?host=${ip2}&port=${port}&request=hostname&protocol=${protocol}&tries=2`,
        ]),
      );
      expect(out).toEqual({ responses: ['nx-node-2', 'nx-node-2'], errors: [] });
    }
    expect(await kubectl(['exec', 'nx-node-1', '--', 'cat', '/sys/class/net/eth0/mtu'])).toBe('1450');
  });
});
