/**
 * `kemu up` returns when the cluster can run pods: every node-N Ready and
 * without the not-ready taint (a kubelet registers its Node not ready, then
 * says Ready after its first Lease renewal; the node lifecycle controller
 * lifts the taint). Asked of the api-server with the admin credentials.
 */
import type { Node, NodeList } from 'kubernetes-types/core/v1.js';
import { adminRequest, adminWatch, type AdminApi } from './admin-api.js';
import { KemuError } from './errors.js';

/** The nodes among `names` that cannot take pods yet, with why. Pure. */
export function nodesNotReady(nodes: Node[], names: string[]): string[] {
  return names.flatMap((name) => {
    const n = nodes.find((x) => x.metadata?.name === name);
    if (!n) return [`${name}: not registered`];
    const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
    if (ready?.status !== 'True') return [`${name}: ${ready ? `Ready=${ready.status} (${ready.reason ?? ''})` : 'no Ready condition'}`];
    if ((n.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready')) return [`${name}: tainted not-ready`];
    return [];
  });
}

/**
 * Wait until nodesNotReady is empty; the last reasons otherwise. The nodes are listed, then watched from the list's
 * resourceVersion (as `kubectl wait` does), so a node is seen Ready the moment the api-server has it: no poll interval.
 */
export async function waitNodesReady(api: AdminApi, names: string[], timeoutMs = 90_000): Promise<string[]> {
  if (!names.length) return [];
  const deadline = Date.now() + timeoutMs;
  let waiting = names.map((n) => `${n}: not asked yet`);
  while (Date.now() < deadline) {
    try {
      const res = await adminRequest(api, 'GET', '/api/v1/nodes');
      if (res.status !== 200) throw new Error(`GET /api/v1/nodes: ${res.status}`);
      const list = JSON.parse(res.body) as NodeList;
      const nodes = new Map(list.items.map((n) => [n.metadata?.name ?? '', n]));
      waiting = nodesNotReady([...nodes.values()], names);
      if (!waiting.length) return [];
      const watch = `/api/v1/nodes?watch=1&resourceVersion=${list.metadata?.resourceVersion ?? ''}`;
      const ready = await adminWatch<Node>(
        api,
        watch,
        (e) => {
          const name = e.object.metadata?.name ?? '';
          if (e.type === 'DELETED') nodes.delete(name);
          else if (e.type !== 'BOOKMARK') nodes.set(name, e.object);
          waiting = nodesNotReady([...nodes.values()], names);
          return !waiting.length;
        },
        deadline - Date.now(),
      );
      if (ready) return [];
    } catch (e) {
      waiting = [`api-server: ${(e as Error).message}`];
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return waiting;
}

/** waitNodesReady, for `kemu up`: a KemuError with the reasons when they are not Ready in time. */
export async function requireNodesReady(api: AdminApi, names: string[]): Promise<void> {
  const waiting = await waitNodesReady(api, names);
  if (waiting.length) throw new KemuError(`the nodes did not become Ready:\n  ${waiting.join('\n  ')}`);
}
