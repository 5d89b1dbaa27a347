/**
 * A node that dies as a machine does: its kubelet and kube-proxy, and every
 * process of the pods bound to it, killed at once, and its network interface
 * down, so that what was on it neither answers nor refuses. `kemu start`
 * brings it back (the processes, and the interface: `up` sets every
 * namespace's link up), and its kubelet restarts or finishes its pods.
 * (Killing only the kubelet, as the README shows, leaves the pods running and
 * serving: a node that went silent, not one that went away.)
 */
import { execFileSync } from 'node:child_process';
import type { Node, Pod, PodList } from 'kubernetes-types/core/v1.js';
import { cluster, ctx, k, kemu, kubectl, parseJson, waitFor } from './helpers.js';

/** The taint that says a node is known to be down (non-graceful node shutdown): its pods are evicted at once. */
export const OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

export const podReady = (p: Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** A node's Ready condition status (True, False, Unknown). */
export const nodeReady = async (name: string) =>
  (parseJson<Node>(await k(['get', 'node', name, '-o', 'json'])).status?.conditions ?? []).find((c) => c.type === 'Ready')?.status;

/**
 * After a test killed `victim`: the out-of-service taint off (when it was set), the node back (`kemu start`) and
 * Ready, its kubelet finishing what was evicted, until `replicas` lists two pods, Ready, none terminating.
 */
export async function reviveNode(victim: string, o: { tainted: boolean; what: string; replicas: () => Promise<Pod[]>; timeoutMs: number }): Promise<void> {
  if (o.tainted) await kubectl(['taint', 'node', victim, `${OUT_OF_SERVICE}-`]);
  kemu('start');
  await waitFor(`${victim} Ready`, async () => (await nodeReady(victim)) === 'True', 90_000, 1000);
  await waitFor(
    `two ${o.what} replicas again, none terminating`,
    async () => {
      const pods = await o.replicas();
      return pods.length === 2 && pods.every((p) => podReady(p) && !p.metadata?.deletionTimestamp);
    },
    o.timeoutMs,
    1000,
  );
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Kill `node` (node-1, node-2, ...) as a power cut would. */
export async function killNode(node: string): Promise<void> {
  const { project } = ctx();
  const pods = parseJson<PodList>(await k(['get', 'pods', '-A', '--field-selector', `spec.nodeName=${node}`, '-o', 'json'])).items;
  // The link first: from this moment nothing on the node is reachable, whatever still runs for a few milliseconds.
  execFileSync('ip', ['-n', `${project}-${node}`, 'link', 'set', 'eth0', 'down']);
  // As `docker kill` of the node's container: their restart policy leaves them down until `kemu start`.
  for (const svc of [node, `${node}/kube-proxy`]) cluster().killService(svc);
  // Every process in the pods' namespaces: the programs and the small shells beside them (named by the kubelet).
  for (const p of pods) {
    const netns = `${project}-p-${p.metadata!.uid!.slice(0, 8)}`;
    let pids: number[] = [];
    try {
      pids = execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .split('\n')
        .map(Number)
        .filter((n) => n > 0);
    } catch {
      /* a pod whose sandbox was never made (or is gone) */
    }
    for (const pid of pids) killGroup(pid);
  }
}
