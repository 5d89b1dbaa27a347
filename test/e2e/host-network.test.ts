/**
 * hostNetwork and hostPort, as the tutorials use them:
 * - a hostNetwork pod runs in its node's network namespace: its IP is the
 *   node's, it listens on the node's address, its hostname is the node's, and
 *   its containerPorts are defaulted to hostPorts (so the scheduler sees them);
 * - a hostPort publishes a container port on the node's address through
 *   portmap's rules (CNI-HOSTPORT-DNAT, a CNI-DN-* chain per pod), reached from
 *   the host, from a pod on another node and from the node itself; the rules go
 *   with the pod; a second pod asking for the same port on the same node stays
 *   Pending ("didn't have free ports");
 * - the API refuses a hostNetwork pod whose hostPort differs from its containerPort;
 * - what the tutorials stress: from the host (outside the cluster) pod IPs and
 *   ClusterIPs are not routed into the cluster, NodePorts and LoadBalancer
 *   addresses are (checked with the host's routing decisions, so that no packet
 *   leaves for an address that is not the project's).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { AGNHOST, apply, ctx, k, kubectl, namespace, netexecContainer, onNode, parseJson, podManifest, waitFor } from './helpers.js';
import { fromHost } from './lb.js';

let ns: string;
const nodeIP = (n: number) => `${ctx().subnet}.1.${n}`;
const natRules = (node: string) => onNode(node, 'iptables-save', '-t', 'nat').stdout;

beforeAll(async () => {
  ns = await namespace('hostnet');
});
afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('node addresses', () => {
  it('nodes report an ExternalIP, the address the host reaches them at (kubectl get nodes -o yaml | grep ExternalIP -C 1)', async () => {
    const yaml = await k(['get', 'nodes', '-o', 'yaml']);
    const lines = yaml.split('\n');
    const at = lines.findIndex((l) => l.includes('type: ExternalIP'));
    expect(at).toBeGreaterThan(0);
    expect(lines[at - 1].trim()).toMatch(new RegExp(`^- address: ${ctx().subnet.replace('.', '\\.')}\\.1\\.\\d+$`));
    expect(await k(['get', 'node', 'node-2', '-o', 'jsonpath={.status.addresses[?(@.type=="ExternalIP")].address}'])).toBe(nodeIP(2));
  });
});

describe('what the host reaches', () => {
  /** The interface the host would send a packet to `ip` through. */
  const via = (ip: string) => /\bdev (\S+)/.exec(execFileSync('ip', ['route', 'get', ip], { encoding: 'utf8' }))?.[1];
  it('pod IPs and ClusterIPs are not routed into the cluster from the host; node and LoadBalancer addresses are', async () => {
    const cluster = via(nodeIP(1));
    expect(cluster).toBeDefined();
    const podIP = await k(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '-o', 'jsonpath={.items[0].status.podIP}']);
    expect(podIP).toMatch(/^10\.244\./);
    expect(via(podIP)).not.toBe(cluster);
    expect(via('10.96.0.10')).not.toBe(cluster);
    expect(via(`${ctx().subnet}.255.1`)).toBe(cluster);
  });
});

describe('hostNetwork and hostPort', () => {
  it("a hostNetwork pod has its node's address and hostname and listens on the node", async () => {
    const c = { ...netexecContainer('web', { port: 18080 }), ports: [{ containerPort: 18080 }] };
    await apply(ns, podManifest('hostnet', [c], { hostNetwork: true, nodeName: 'node-1' }));
    await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/hostnet', '--timeout=90s'], { timeout: 100_000 });
    const pod = parseJson<Pod>(await k(['get', 'pod', 'hostnet', '-n', ns, '-o', 'json']));
    expect(pod.status?.podIP).toBe(nodeIP(1));
    expect(pod.status?.hostIP).toBe(nodeIP(1));
    expect(pod.spec?.containers[0].ports?.[0]).toEqual({ containerPort: 18080, hostPort: 18080, protocol: 'TCP' });
    const r = fromHost(`http://${nodeIP(1)}:18080/hostname`);
    expect(r).toEqual({ code: 200, body: 'node-1' });
    expect((await k(['exec', '-n', ns, 'hostnet', '--', 'cat', '/etc/hosts'])).split('\n')[0]).toBe('# Kubernetes-managed hosts file (host network).');
  });

  it('a hostNetwork pod whose hostPort differs from its containerPort is refused', async () => {
    const bad = podManifest('bad', [{ name: 'c', image: AGNHOST, ports: [{ containerPort: 80, hostPort: 81 }] }], { hostNetwork: true });
    const r = await kubectl(['create', '-n', ns, '-f', '-'], { input: JSON.stringify(bad) });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('spec.containers[0].ports[0].hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is true');
  });

  it('a hostPort is reached on the node address from the host, another node and the node itself; its rules go with the pod', async () => {
    const c = { ...netexecContainer('web', { port: 8080 }), ports: [{ containerPort: 8080, hostPort: 28080 }] };
    await apply(ns, podManifest('published', [c], { nodeName: 'node-2' }));
    await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/published', '--timeout=90s'], { timeout: 100_000 });
    const url = `http://${nodeIP(2)}:28080/hostname`;
    expect(await waitFor('the hostPort from the host', () => fromHost(url).code === 200 && fromHost(url))).toEqual({ code: 200, body: 'published' });
    expect(onNode('node-1', 'curl', '-s', '-m', '3', url).stdout).toBe('published');
    expect(onNode('node-2', 'curl', '-s', '-m', '3', url).stdout).toBe('published');
    const rules = natRules('node-2');
    expect(rules).toContain('-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT');
    const uid = await k(['get', 'pod', 'published', '-n', ns, '-o', 'jsonpath={.metadata.uid}']);
    expect(rules).toMatch(
      new RegExp(
        `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\\\"kemu\\\\" id: \\\\"${uid}\\\\"" -m multiport --dports 28080 -j CNI-DN-[0-9a-f]{17}`,
      ),
    );
    expect(rules).toMatch(/-A CNI-DN-[0-9a-f]{17} -p tcp -m tcp --dport 28080 -j DNAT --to-destination 10\.244\.\d+\.\d+:8080/);

    // The same port on the same node: the scheduler keeps the second pod Pending.
    const again = { ...podManifest('again', [{ name: 'c', image: AGNHOST, args: ['pause'], ports: [{ containerPort: 9, hostPort: 28080 }] }]) };
    again.spec!.nodeSelector = { 'kubernetes.io/hostname': 'node-2' };
    await apply(ns, again);
    await waitFor('FailedScheduling for the port', async () =>
      (await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=again', '-o', 'jsonpath={.items[*].message}'])).includes(
        "didn't have free ports for the requested pod ports",
      ),
    );

    await k(['delete', 'pod', 'again', 'published', '-n', ns, '--grace-period=1']);
    await waitFor('the rules gone with the pod', () => !natRules('node-2').includes('--dport 28080'), 30_000, 500);
  }, 180_000);
});
