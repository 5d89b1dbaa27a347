/**
 * The ingress when the node running one of the controller's two replicas dies
 * (kubelet, kube-proxy and pods killed, link down; see node-death.ts), asked
 * from the host through the controller's EXTERNAL-IP as a user would:
 * - the controller's Service has externalTrafficPolicy Local (as ingress-nginx's
 *   manifest), so its address is announced from a node running a controller;
 *   the test kills that node;
 * - once node lifecycle has declared the node NotReady, its replica is marked
 *   not ready, and the speaker of the node running the other replica takes the
 *   address over (ARP): requests are answered again, by the survivor;
 * - the dead replica is replaced: the node is known to be down, so the test
 *   taints it node.kubernetes.io/out-of-service (non-graceful node shutdown,
 *   as dns-failover.test.ts does) rather than wait out the pods' toleration;
 *   the replacement becomes Ready on a live node.
 * The backend runs away from the victim, so what is measured is the ingress.
 * Afterwards the node comes back (`kemu start`) and the taint is removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodList } from 'kubernetes-types/core/v1.js';
import { AGNHOST, apply, k, kubectl, namespace, parseJson, waitFor } from './helpers.js';
import { fromHost, holder, holders } from './lb.js';
import { killNode, nodeReady, OUT_OF_SERVICE, podReady, reviveNode } from './node-death.js';

const HOST = 'failover.example';

let ns: string;
let victim = '';
let tainted = false;

const controllers = async () =>
  parseJson<PodList>(await k(['get', 'pods', '-n', 'ingress-nginx', '-l', 'app.kubernetes.io/component=controller', '-o', 'json'])).items;

/** `n` requests from the host through the ingress, each a new connection: how many the backend answered (a miss is printed, named by `when`). */
function answered(ip: string, n: number, when: string): number {
  let ok = 0;
  const codes: number[] = [];
  for (let i = 0; i < n; i++) {
    const { code } = fromHost(`http://${ip}/hostname`, HOST);
    codes.push(code);
    if (code === 200) ok++;
  }
  if (ok < n) console.log(`${when}: answered ${ok}/${n}: codes ${codes.join(' ')}; ARP for ${ip} from ${holders(ip).join(', ') || 'nobody'}`);
  return ok;
}

beforeAll(async () => {
  ns = await namespace('ing-failover');
  await k(['rollout', 'status', '-n', 'ingress-nginx', 'deploy/ingress-nginx-controller', '--timeout=180s'], { timeout: 200_000 });
}, 240_000);

afterAll(async () => {
  if (victim) await reviveNode(victim, { tainted, what: 'controller', replicas: controllers, timeoutMs: 120_000 });
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
}, 300_000);

describe('the ingress when a node running one controller replica dies', () => {
  it('the EXTERNAL-IP moves to the other replica, which answers; the dead replica is replaced', async () => {
    const ip = await waitFor('the controller EXTERNAL-IP', async () =>
      (await k(['get', 'svc', '-n', 'ingress-nginx', 'ingress-nginx-controller', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim(),
    );
    const before = await waitFor('two ready controller replicas', async () => {
      const pods = (await controllers()).filter(podReady);
      return pods.length === 2 ? pods : undefined;
    });
    const replicaNodes = before.map((p) => p.spec!.nodeName!);
    expect(new Set(replicaNodes).size).toBe(2);
    // Local: only a node with a controller announces the address.
    victim = await holder(ip);
    expect(replicaNodes).toContain(victim);
    const survivorNode = replicaNodes.find((n) => n !== victim)!;
    const dead = before.find((p) => p.spec?.nodeName === victim)!;

    const backend = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: [victim] }] }],
                },
              },
            },
            containers: [{ name: 'web', image: AGNHOST, args: ['netexec', '--http-port=8080'], ports: [{ containerPort: 8080 }] }],
          },
        },
      },
    };
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    };
    const ingress = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'failover', namespace: ns },
      spec: {
        ingressClassName: 'nginx',
        rules: [{ host: HOST, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
      },
    };
    await apply(ns, backend, service, ingress);
    await k(['rollout', 'status', '-n', ns, 'deploy/web', '--timeout=120s'], { timeout: 150_000 });
    await waitFor('the ingress answering', () => answered(ip, 1, 'first') === 1, 60_000, 500);
    expect(answered(ip, 5, 'first')).toBe(5);

    await killNode(victim);

    await waitFor(`${victim} NotReady`, async () => (await nodeReady(victim)) === 'Unknown', 120_000, 1000);
    expect(await holder(ip, victim, 60_000)).toBe(survivorNode);
    await waitFor('the ingress answering through the surviving replica', () => answered(ip, 1, 'survivor') === 1, 30_000, 500);
    expect(answered(ip, 10, 'survivor')).toBe(10);

    await k(['taint', 'node', victim, `${OUT_OF_SERVICE}=nodeshutdown:NoExecute`]);
    tainted = true;
    const replacement = await waitFor(
      'a replacement controller, ready on a live node',
      async () => (await controllers()).find((p) => !before.some((b) => b.metadata?.uid === p.metadata?.uid) && podReady(p) && p.spec?.nodeName !== victim),
      120_000,
      1000,
    );
    expect(replacement.spec?.nodeName).not.toBe(victim);
    // Terminating, or already force-deleted by pod GC (out-of-service), as in Kubernetes.
    const old = await kubectl(['get', 'pod', '-n', 'ingress-nginx', dead.metadata!.name!, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
    expect(old.exitCode === 0 ? old.stdout.trim() !== '' : old.stderr.includes('NotFound')).toBe(true);
    // A ready replacement is a new candidate in the address's election: the address may move to its node, whose
    // kube-proxy programs the new local endpoint at its next sync (--min-sync-period). As with MetalLB, requests
    // can fail in between; what must hold is that the ingress answers again, every time.
    await waitFor('the ingress answering with the replacement', () => answered(ip, 1, 'replacement') === 1, 30_000, 500);
    expect(answered(ip, 10, 'replacement')).toBe(10);
  }, 420_000);
});
