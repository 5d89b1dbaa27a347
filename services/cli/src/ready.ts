/**
 * `kemu up` returns when the cluster can run pods: every node-N Ready and
 * without the not-ready taint (a kubelet registers its Node not ready, then
 * says Ready after its first Lease renewal; the node lifecycle controller
 * lifts the taint). Asked of the api-server with the admin credentials.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, NodeList } from 'kubernetes-types/core/v1.js';

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

function getJson(server: string, path: string, pki: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server),
      { ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, 'admin.crt')), key: readFileSync(join(pki, 'admin.key')), timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as unknown) : reject(new Error(`GET ${path}: ${res.statusCode}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Wait until nodesNotReady is empty; the last reasons otherwise. */
export async function waitNodesReady(kubeconfigPath: string, pki: string, names: string[], timeoutMs = 90_000): Promise<string[]> {
  const server = /server: (\S+)/.exec(readFileSync(kubeconfigPath, 'utf8'))?.[1];
  if (!server || !names.length) return [];
  const deadline = Date.now() + timeoutMs;
  let waiting = names.map((n) => `${n}: not asked yet`);
  while (Date.now() < deadline) {
    try {
      // The api-server's answer to GET /api/v1/nodes.
      const list = (await getJson(server, '/api/v1/nodes', pki)) as NodeList;
      waiting = nodesNotReady(list.items ?? [], names);
      if (!waiting.length) return [];
    } catch (e) {
      waiting = [`api-server: ${(e as Error).message}`];
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return waiting;
}
