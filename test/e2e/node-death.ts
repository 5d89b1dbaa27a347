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
import type { PodList } from 'kubernetes-types/core/v1.js';
import { cluster, ctx, k, parseJson } from './helpers.js';

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
      pids = execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' })
        .split('\n')
        .map(Number)
        .filter((n) => n > 0);
    } catch {
      /* a pod whose sandbox was never made (or is gone) */
    }
    for (const pid of pids) killGroup(pid);
  }
}
