/**
 * A test fixture standing in for the kubelets of the nodes issue: it reports
 * every pod bound to one of its nodes as Running and Ready (after
 * `readyAfterMs`), and finishes graceful deletions at once. The control
 * loops under test cannot tell it from a kubelet's status updates.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiClient } from '@kemu/client';
import type { KubeObject } from '@kemu/api';
import { ctx, stateFile } from './helpers.js';

export interface FakeKubelet {
  stop(): void;
}

const PODS = { version: 'v1', resource: 'pods' };
const NODES = { version: 'v1', resource: 'nodes' };

export function client(): ApiClient {
  const token = readFileSync(stateFile('pki', 'node.token'), 'utf8').trim();
  return new ApiClient({ address: `${ctx().subnet}.0.3:6444`, ca: readFileSync(stateFile('pki', 'ca.crt')), token });
}

/** Register Nodes as a kubelet would (Ready, 2 cpu, 4Gi, 110 pods). */
export async function registerNodes(c: ApiClient, names: string[], extra: { labels?: Record<string, string>; taints?: object[]; cpu?: string } = {}): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (const name of names) {
    const res = { cpu: extra.cpu ?? '2', memory: '4Gi', pods: '110' };
    await c.create(NODES, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...(extra.labels ?? {}) } },
      spec: extra.taints ? { taints: extra.taints } : {},
      status: { capacity: res, allocatable: res, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }], nodeInfo: { kubeletVersion: 'v1.32.0' } },
    }).catch(() => undefined);
  }
}

export function startFakeKubelet(c: ApiClient, opts: { readyAfterMs?: number } = {}): FakeKubelet {
  const ac = new AbortController();
  const handled = new Set<string>();
  const handle = async (pod: KubeObject) => {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}/${pod.metadata.uid}`;
    const ref = { ...PODS, namespace: pod.metadata.namespace };
    if (pod.metadata.deletionTimestamp) {
      await c.delete(ref, pod.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => undefined);
      return;
    }
    if (!pod.spec?.nodeName || handled.has(key)) return;
    handled.add(key);
    await new Promise((r) => setTimeout(r, opts.readyAfterMs ?? 0));
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const conds = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now }));
    const status = {
      phase: 'Running',
      conditions: conds,
      hostIP: '172.29.1.1',
      podIP: `10.244.0.${(handled.size % 250) + 2}`,
      startTime: now,
      containerStatuses: (pod.spec.containers ?? []).map((cn: { name: string; image: string }) => ({ name: cn.name, image: cn.image, ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } })),
    };
    await c.patch(ref, pod.metadata.name!, { status }, 'application/merge-patch+json', 'status').catch(() => handled.delete(key));
  };
  void (async () => {
    while (!ac.signal.aborted) {
      try {
        const { items, resourceVersion } = await c.list(PODS);
        for (const p of items) void handle(p);
        for await (const ev of c.watch(PODS, { resourceVersion, signal: ac.signal })) {
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') void handle(ev.object);
        }
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return { stop: () => ac.abort() };
}

/**
 * Real kubelet processes (services/kubelet) for `names`, run on the host:
 * they register their Nodes and keep their Leases and conditions fresh.
 */
export function startKubelets(names: string[], opts: { cpu?: string } = {}): { stop(name?: string): void } {
  const procs = new Map<string, ChildProcess>();
  names.forEach((name, i) => {
    const p = spawn(process.execPath, [
      resolve(import.meta.dirname, '../../services/kubelet/dist/main.js'),
      `--apiserver=${ctx().subnet}.0.3:6444`,
      `--ca-file=${stateFile('pki', 'ca.crt')}`,
      `--token-file=${stateFile('pki', 'node.token')}`,
      `--node-name=${name}`,
      `--node-ip=${ctx().subnet}.1.${i + 1}`,
      `--cpu=${opts.cpu ?? '2'}`,
      `--memory=${4 * 2 ** 30}`,
      '--port=0',
    ], { stdio: 'ignore' });
    procs.set(name, p);
  });
  return {
    stop(name?: string) {
      for (const [n, p] of procs) if (!name || n === name) p.kill('SIGKILL');
    },
  };
}
