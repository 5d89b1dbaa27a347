/** Extra nodes for tests: registered through the API (no kubelet) or run by kubelet processes on the host. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiClient } from '@kemu/client';
import { ctx, stateFile } from './helpers.js';
import { clusterTimings } from './profile.js';

const NODES = { version: 'v1', resource: 'nodes' };

/** A gRPC client as the cluster's admin (fake nodes are registered as KWOK does, with an admin's credential). */
export function client(): ApiClient {
  const token = readFileSync(stateFile('pki', 'admin.token'), 'utf8').trim();
  return new ApiClient({ address: `${ctx().subnet}.0.3:6444`, ca: readFileSync(stateFile('pki', 'ca.crt')), token });
}

/** Register Nodes as a kubelet would (Ready, 2 cpu, 4Gi, 110 pods). */
export async function registerNodes(
  c: ApiClient,
  names: string[],
  extra: { labels?: Record<string, string>; taints?: object[]; cpu?: string } = {},
): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (const name of names) {
    const res = { cpu: extra.cpu ?? '2', memory: '4Gi', pods: '110' };
    await c
      .create(NODES, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...(extra.labels ?? {}) } },
        spec: extra.taints ? { taints: extra.taints } : {},
        status: {
          capacity: res,
          allocatable: res,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
          nodeInfo: { kubeletVersion: 'v1.32.0' },
        },
      })
      .catch(() => undefined);
  }
}

/**
 * Real kubelet processes (services/kubelet) for `names`, run on the host:
 * they register their Nodes and keep their Leases and conditions fresh.
 */
export function startKubelets(names: string[], opts: { cpu?: string } = {}): { stop(name?: string): void } {
  const procs = new Map<string, ChildProcess>();
  names.forEach((name, i) => {
    const p = spawn(
      process.execPath,
      [
        resolve(import.meta.dirname, '../../services/kubelet/dist/main.js'),
        `--apiserver=${ctx().subnet}.0.3:6444`,
        `--ca-file=${stateFile('pki', 'ca.crt')}`,
        // TLS bootstrapping, as the cluster's own kubelets: each its own certificate, system:node:<name>.
        `--bootstrap-token-file=${stateFile('pki', 'bootstrap.token')}`,
        `--cert-dir=${stateFile('nodes', name, 'pki')}`,
        `--node-name=${name}`,
        `--node-ip=${ctx().subnet}.1.${i + 1}`,
        `--cpu=${opts.cpu ?? '2'}`,
        `--memory=${4 * 2 ** 30}`,
        '--port=0',
        // Heartbeats timed as the cluster's own kubelets: under the fast profile a kubelet on stock timings
        // would miss the controller-manager's 3 s grace between its renewals.
        `--node-lease-duration-seconds=${clusterTimings().nodeLeaseDurationSeconds}`,
        `--node-status-update-frequency=${clusterTimings().nodeStatusUpdateFrequency}`,
      ],
      { stdio: 'ignore' },
    );
    procs.set(name, p);
  });
  return {
    stop(name?: string) {
      for (const [n, p] of procs) if (!name || n === name) p.kill('SIGKILL');
    },
  };
}
