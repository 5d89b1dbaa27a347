/**
 * The cluster DNS when the node running one of its two replicas dies (its
 * kubelet, kube-proxy and pods killed, its link down; see node-death.ts),
 * asked from a pod on another node through the kube-dns Service, each query
 * from a new source port as a resolver's are:
 * - until the node is declared NotReady (the profile's grace: 40 s of silence as in
 *   Kubernetes under stock, 3 s under fast)
 *   kube-proxy still sends some queries to the dead replica, so some go
 *   unanswered, but the surviving one answers the others;
 * - once node lifecycle has marked the dead replica not ready, its endpoint
 *   leaves the EndpointSlice and kube-proxy's rules, and every query is answered;
 * - the replacement: CoreDNS's pods tolerate not-ready and unreachable for the
 *   DefaultTolerationSeconds every pod gets (stock: 300 s; fast: 2 s; dns.yaml adds
 *   none of its own, as CoreDNS's manifest in Kubernetes). Under stock they would be
 *   evicted 5 minutes on; rather than wait, the test does what Kubernetes documents for a node
 *   known to be down (non-graceful node shutdown): the
 *   node.kubernetes.io/out-of-service taint, which evicts at once; the
 *   ReplicaSet then makes a new replica on a live node, and it answers too.
 * Afterwards the node comes back (`kemu start`), its kubelet finishes the old
 * replica, and the taint is removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node, Pod, PodList } from 'kubernetes-types/core/v1.js';
import type { EndpointSliceList } from 'kubernetes-types/discovery/v1.js';
import { execFileSync } from 'node:child_process';
import { ctx, k, kubectl, namespace, parseJson, waitFor } from './helpers.js';
import { killNode, nodeReady, OUT_OF_SERVICE, podReady, reviveNode } from './node-death.js';
import { clusterTimings } from './profile.js';

const DNS_IP = '10.96.0.10';
const NAME = 'kubernetes.default.svc.cluster.local';
const ANSWER = '10.96.0.1';

let ns: string;
let victim = '';
let tainted = false;

const corednsPods = async () => parseJson<PodList>(await k(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '-o', 'json'])).items;

/** `n` lookups from the client pod, each its own dig (a new source port): how many were answered right. */
async function answered(n: number, server = DNS_IP): Promise<number> {
  // The loop's status would be its last dig's: a lookup that went unanswered is counted, not an error.
  const script = `for i in $(seq ${n}); do dig +short +tries=1 +time=2 @${server} ${NAME} A; done; true`;
  const out = await k(['exec', '-n', ns, 'client', '--', 'sh', '-c', script], { timeout: 120_000 });
  return out.split('\n').filter((l) => l.trim() === ANSWER).length;
}

/** The DNAT targets of kube-proxy's rules for the DNS Service's port 53 on `node` (from its iptables). */
function dnsTargets(node: string): string[] {
  const rules = execFileSync('ip', ['netns', 'exec', `${ctx().project}-${node}`, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
  // The UDP and the TCP port's rules name the same endpoints.
  return [...new Set([...rules.matchAll(/--to-destination (\d+\.\d+\.\d+\.\d+):53\b/g)].map((m) => m[1]))];
}

beforeAll(async () => {
  ns = await namespace('dns-failover');
});

afterAll(async () => {
  // The node back: kubelet, kube-proxy and link; its kubelet finishes the evicted replica.
  if (victim) await reviveNode(victim, { tainted, what: 'CoreDNS', replicas: corednsPods, timeoutMs: 90_000 });
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
}, 240_000);

describe('cluster DNS when a node running one replica dies', () => {
  it('keeps answering from the other replica; the dead one leaves the Service, and its replacement answers', async () => {
    const before = await waitFor(
      'two ready CoreDNS replicas',
      async () => {
        const pods = (await corednsPods()).filter(podReady);
        return pods.length === 2 ? pods : undefined;
      },
      60_000,
    );
    const replicaNodes = before.map((p) => p.spec!.nodeName!);
    // Spread by the Deployment's anti-affinity: a node's death takes one replica, not both.
    expect(new Set(replicaNodes).size).toBe(2);
    victim = replicaNodes[0];
    const dead = before[0];
    const deadIP = dead.status!.podIP!;
    const nodes = parseJson<{ items: Node[] }>(await k(['get', 'nodes', '-o', 'json'])).items.map((n) => n.metadata!.name!);
    const clientNode = nodes.find((n) => !replicaNodes.includes(n)) ?? replicaNodes[1];

    const image = 'registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3';
    await k([
      'run',
      'client',
      '-n',
      ns,
      `--image=${image}`,
      '--overrides',
      JSON.stringify({ spec: { nodeName: clientNode } }),
      '--command',
      '--',
      'sleep',
      '3600',
    ]);
    await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/client', '--timeout=60s']);
    expect(await answered(5)).toBe(5);
    expect(dnsTargets(clientNode).sort()).toEqual(before.map((p) => p.status!.podIP!).sort());

    await killNode(victim);

    // Before the node is declared dead, kube-proxy still picks the dead replica for some queries (at random, per new
    // source port): those go unanswered, the others are answered by the survivor.
    const early = await answered(10);
    expect(early).toBeGreaterThan(0);

    await waitFor(`${victim} NotReady`, async () => (await nodeReady(victim)) === 'Unknown', 90_000, 1000);
    // Node lifecycle marks the pods of a NotReady node not ready; the EndpointSlice says so, kube-proxy drops it.
    await waitFor('the dead replica marked not ready', async () => {
      const p = parseJson<Pod>(await k(['get', 'pod', '-n', 'kube-system', dead.metadata!.name!, '-o', 'json']));
      return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'False');
    });
    await waitFor('the dead endpoint not ready in the EndpointSlice', async () => {
      const slices = parseJson<EndpointSliceList>(
        await k(['get', 'endpointslices', '-n', 'kube-system', '-l', 'kubernetes.io/service-name=kube-dns', '-o', 'json']),
      );
      const ep = slices.items.flatMap((s) => s.endpoints).find((e) => e.addresses.includes(deadIP));
      return !ep || ep.conditions?.ready === false;
    });
    await waitFor("the dead endpoint gone from the client node's kube-proxy rules", () => !dnsTargets(clientNode).includes(deadIP));
    expect(await answered(20)).toBe(20);

    // It tolerates the unreachable taint for the profile's DefaultTolerationSeconds (stock: 300 s, still there now;
    // fast: 2 s, evicted by itself already).
    const seconds = clusterTimings().defaultTolerationSeconds;
    const waiting = parseJson<Pod>(await k(['get', 'pod', '-n', 'kube-system', dead.metadata!.name!, '-o', 'json']));
    if (seconds >= 300) expect(waiting.metadata?.deletionTimestamp).toBeUndefined();
    expect(waiting.spec?.tolerations).toContainEqual({
      key: 'node.kubernetes.io/unreachable',
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: seconds,
    });

    // The node is known to be down: out of service (as kubectl taint does it for a non-graceful shutdown).
    await k(['taint', 'node', victim, `${OUT_OF_SERVICE}=nodeshutdown:NoExecute`]);
    tainted = true;
    const replacement = await waitFor(
      'a replacement replica, ready on a live node',
      async () => (await corednsPods()).find((p) => !before.some((b) => b.metadata?.uid === p.metadata?.uid) && podReady(p) && p.spec?.nodeName !== victim),
      90_000,
      1000,
    );
    // Terminating, or already force-deleted by pod GC (out-of-service), as in Kubernetes.
    const old = await kubectl(['get', 'pod', '-n', 'kube-system', dead.metadata!.name!, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
    expect(old.exitCode === 0 ? old.stdout.trim() !== '' : old.stderr.includes('NotFound')).toBe(true);
    await waitFor("the replacement in the client node's kube-proxy rules", () => dnsTargets(clientNode).includes(replacement.status!.podIP!));
    expect(await answered(20)).toBe(20);
    expect(await answered(3, replacement.status!.podIP)).toBe(3);
  }, 300_000);
});
