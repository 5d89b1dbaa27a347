/**
 * The replicas of an Ingress controller, asked one by one. Each reloads nginx on
 * its own, a moment apart, and a NodePort or EXTERNAL-IP may reach any of them
 * (externalTrafficPolicy Cluster, or two on one node: the add-on's anti-affinity
 * is only preferred). A test that waits for a change through the Service and then
 * asserts with single requests waits for every replica first.
 */
import { k, onNodeAsync } from './helpers.js';

export interface Replica {
  node: string;
  ip: string;
}

/** The Running pods `selector` selects in `ns`: where each runs, and its pod IP. */
export async function replicas(ns: string, selector: string): Promise<Replica[]> {
  const pods = JSON.parse(await k(['get', 'pods', '-n', ns, '-l', selector, '--field-selector=status.phase=Running', '-o', 'json'])) as {
    items: { spec: { nodeName?: string }; status: { podIP?: string } }[];
  };
  return pods.items.flatMap((p) => (p.spec.nodeName && p.status.podIP ? [{ node: p.spec.nodeName, ip: p.status.podIP }] : []));
}

/** curl with `args`, run on the replica's node (whose network namespace reaches its pods); its stdout and stderr. */
export async function curlOn(r: Replica, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return onNodeAsync(r.node, 'curl', ...args);
}
