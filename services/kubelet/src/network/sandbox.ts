/**
 * Pod sandboxes on a node (the kubelet's built-in CNI, bridge + host-gw):
 * the node's `cni0` bridge with the podCIDR's gateway address, one network
 * namespace per pod with a veth on that bridge (hairpin on, so a pod can
 * reach itself through a Service), and routes to the other nodes' podCIDRs
 * through their node addresses.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { parseCidr } from '@kemu/api';

function ip(args: string[], allowFail = false): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || '').trim()}`);
  return r.stdout ?? '';
}

function inNs(ns: string, argv: string[], allowFail = false): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')} in ${ns}: ${(r.stderr || '').trim()}`);
}

const prefixLen = (cidr: string) => parseCidr(cidr).prefix;

/** The host side of a pod's veth: unique per pod namespace, at most 15 bytes. */
export const vethName = (podNs: string) => `veth${createHash('sha1').update(podNs).digest('hex').slice(0, 8)}`;

/**
 * The node's bridge, gateway address and forwarding, with bridge netfilter
 * on (so kube-proxy's rules see bridged traffic). Pods reach other pods and
 * the nodes (`nodeNet`) with their own address; traffic to anything else —
 * the control plane, the outside — is masqueraded behind the node, as
 * flannel's and kindnet's ip-masq rules do. Idempotent.
 */
export function ensureBridge(nodeNs: string, podCIDR: string, gateway: string, o: { clusterCIDR?: string; nodeNet?: string } = {}): void {
  if (!ip(['-n', nodeNs, 'link', 'show', 'cni0'], true)) ip(['-n', nodeNs, 'link', 'add', 'cni0', 'type', 'bridge']);
  ip(['-n', nodeNs, 'addr', 'replace', `${gateway}/${prefixLen(podCIDR)}`, 'dev', 'cni0']);
  ip(['-n', nodeNs, 'link', 'set', 'cni0', 'up']);
  inNs(nodeNs, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  inNs(nodeNs, ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1'], true); // absent without br_netfilter: carry on
  const rule = ['POSTROUTING', '-s', podCIDR, '!', '-d', o.clusterCIDR ?? '10.244.0.0/16', '-j', 'KEMU-MASQ'];
  inNs(nodeNs, ['iptables', '-w', '-t', 'nat', '-N', 'KEMU-MASQ'], true);
  inNs(nodeNs, ['iptables', '-w', '-t', 'nat', '-F', 'KEMU-MASQ']);
  if (o.nodeNet) inNs(nodeNs, ['iptables', '-w', '-t', 'nat', '-A', 'KEMU-MASQ', '-d', o.nodeNet, '-j', 'RETURN']);
  inNs(nodeNs, ['iptables', '-w', '-t', 'nat', '-A', 'KEMU-MASQ', '-j', 'MASQUERADE']);
  const exists = spawnSync('ip', ['netns', 'exec', nodeNs, 'iptables', '-w', '-t', 'nat', '-C', ...rule]).status === 0;
  if (!exists) inNs(nodeNs, ['iptables', '-w', '-t', 'nat', '-A', ...rule]);
}

export interface Sandbox {
  podNs: string;
  ip: string;
}

function ipAsync(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn('ip', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (err += d));
    p.on('error', (e) => resolve({ code: 1, out, err: String(e) }));
    p.on('close', (code) => resolve({ code: code ?? 1, out, err }));
    if (p.stdin) {
      // An `ip` that fails early stops reading: that is its exit status's business, not a crash.
      p.stdin.on('error', () => undefined);
      p.stdin.end(input);
    }
  });
}

async function batch(ns: string, lines: string[]): Promise<void> {
  const r = await ipAsync(['-n', ns, '-batch', '-'], lines.join('\n') + '\n');
  if (r.code !== 0) throw new Error(`ip -n ${ns} -batch: ${r.err.trim()}`);
}

/**
 * A pod's namespace with `address` on eth0, its default route via the
 * bridge. Idempotent. A few `ip` processes in all (batches), run without
 * blocking, so a node starts many pods at once.
 */
export async function createSandbox(nodeNs: string, podNs: string, address: string, podCIDR: string, gateway: string, mtu?: number): Promise<Sandbox> {
  const added = await ipAsync(['netns', 'add', podNs]);
  if (added.code !== 0 && !/File exists/.test(added.err)) throw new Error(`ip netns add ${podNs}: ${added.err.trim()}`);
  const host = vethName(podNs);
  const hasEth0 = (await ipAsync(['-n', podNs, 'link', 'show', 'eth0'])).code === 0;
  if (!hasEth0) {
    await ipAsync(['-n', nodeNs, 'link', 'del', host]);
    await batch(nodeNs, [`link add ${host}${mtu ? ` mtu ${mtu}` : ''} type veth peer name eth0 netns ${podNs}${mtu ? ` mtu ${mtu}` : ''}`]);
  }
  // Hairpin: traffic a pod sends to a Service that lands back on itself goes out and in the same port.
  await batch(nodeNs, [`link set ${host} master cni0 up`, `link set ${host} type bridge_slave hairpin on`]);
  // An address is reused as soon as its pod is gone (lowest free), and the node and the pods beside it may still hold
  // the old pod's MAC for it (a neighbour entry stays REACHABLE for up to 45 s): frames to it would go nowhere. The
  // node forgets it, and eth0 announces its own when it comes up (arp_notify: a gratuitous ARP, as CNI's bridge
  // plugin sends one).
  await ipAsync(['-n', nodeNs, 'neigh', 'flush', 'to', address, 'dev', 'cni0']);
  await ipAsync(['netns', 'exec', podNs, 'sysctl', '-qw', 'net.ipv4.conf.eth0.arp_notify=1']);
  await batch(podNs, ['link set lo up', `addr replace ${address}/${prefixLen(podCIDR)} dev eth0`, 'link set eth0 up', `route replace default via ${gateway}`]);
  return { podNs, ip: address };
}

/** Remove a pod's namespace (its veth pair goes with it). Harmless when already gone. */
export function deleteSandbox(podNs: string): void {
  ip(['netns', 'del', podNs], true);
}

/** host-gw: reach another node's pods through that node's address. Idempotent; never blocks the event loop. */
export async function routeToNode(nodeNs: string, podCIDR: string, nodeIP: string): Promise<void> {
  const r = await ipAsync(['-n', nodeNs, 'route', 'replace', podCIDR, 'via', nodeIP]);
  if (r.code !== 0) throw new Error(`ip route replace ${podCIDR} via ${nodeIP}: ${r.err.trim()}`);
}

/** host-gw: forget the route to a node's pods (gone already is fine). */
export async function removeRouteToNode(nodeNs: string, podCIDR: string, nodeIP: string): Promise<void> {
  const r = await ipAsync(['-n', nodeNs, 'route', 'del', podCIDR, 'via', nodeIP]);
  if (r.code !== 0 && !/No such process/.test(r.err)) throw new Error(`ip route del ${podCIDR} via ${nodeIP}: ${r.err.trim()}`);
}
