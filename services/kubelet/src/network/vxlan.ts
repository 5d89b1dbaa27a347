/**
 * The VXLAN backend, as flannel's: each node has a VTEP `flannel.1` (VNI 1,
 * UDP 8472) holding the first address of its podCIDR, and publishes the
 * VTEP's MAC in its Node annotations (flannel.alpha.coreos.com/...). For
 * every other node: a route to its podCIDR via its VTEP address (onlink), a
 * permanent neighbour entry for that address, and a forwarding entry
 * sending that MAC to the node's address. Pod traffic between nodes is then
 * encapsulated, so nodes need not share a layer-2 segment or carry pod routes.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { formatIPv4, networkAddress } from '@kemu/api';

export const VTEP = 'flannel.1';
export const VXLAN_MTU = 1450;
export const ANNOTATIONS = {
  type: 'flannel.alpha.coreos.com/backend-type',
  data: 'flannel.alpha.coreos.com/backend-data',
  ip: 'flannel.alpha.coreos.com/public-ip',
};

function run(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || '').trim()}`);
  return r.stdout ?? '';
}

/** The network address of a CIDR: the VTEP's address (flannel uses the .0 of the podCIDR). */
export const vtepAddress = (cidr: string) => formatIPv4(networkAddress(cidr));

/** Create the VTEP (idempotent); returns its MAC. */
export function ensureVtep(nodeNs: string, nodeIP: string, podCIDR: string): string {
  if (!run('ip', ['-n', nodeNs, 'link', 'show', VTEP], true)) {
    run('ip', ['-n', nodeNs, 'link', 'add', VTEP, 'type', 'vxlan', 'id', '1', 'local', nodeIP, 'dev', 'eth0', 'dstport', '8472', 'nolearning']);
  }
  run('ip', ['-n', nodeNs, 'link', 'set', VTEP, 'mtu', String(VXLAN_MTU), 'up']);
  run('ip', ['-n', nodeNs, 'addr', 'replace', `${vtepAddress(podCIDR)}/32`, 'dev', VTEP]);
  // iproute2's JSON (`ip -j link show`): an array of links, each with its MAC in `address` (the one cast).
  const [link] = JSON.parse(run('ip', ['-j', '-n', nodeNs, 'link', 'show', VTEP])) as { address: string }[];
  return link.address;
}

/** The annotations a node publishes for the others. */
export function vtepAnnotations(mac: string, nodeIP: string): Record<string, string> {
  return { [ANNOTATIONS.type]: 'vxlan', [ANNOTATIONS.data]: JSON.stringify({ VNI: 1, VtepMAC: mac }), [ANNOTATIONS.ip]: nodeIP };
}

/** The peer's VTEP MAC from its annotations, if it published one. */
export function peerMac(annotations: Record<string, string> | undefined): string | undefined {
  if (annotations?.[ANNOTATIONS.type] !== 'vxlan') return undefined;
  try {
    // Another node wrote it (flannel's backend-data): read only a string VtepMAC.
    const data: unknown = JSON.parse(annotations[ANNOTATIONS.data] ?? '{}');
    return typeof data === 'object' && data !== null && 'VtepMAC' in data && typeof data.VtepMAC === 'string' ? data.VtepMAC : undefined;
  } catch {
    return undefined;
  }
}

const execFileAsync = promisify(execFile);

/** Reach another node's pods through the overlay. Idempotent; never blocks the event loop. */
export async function routeViaVxlan(nodeNs: string, podCIDR: string, nodeIP: string, mac: string): Promise<void> {
  const gw = vtepAddress(podCIDR);
  await execFileAsync('ip', ['-n', nodeNs, 'neigh', 'replace', gw, 'lladdr', mac, 'dev', VTEP, 'nud', 'permanent']);
  await execFileAsync('ip', ['netns', 'exec', nodeNs, 'bridge', 'fdb', 'replace', mac, 'dev', VTEP, 'dst', nodeIP]);
  await execFileAsync('ip', ['-n', nodeNs, 'route', 'replace', podCIDR, 'via', gw, 'dev', VTEP, 'onlink']);
}

/** Forget a node's overlay route, neighbour and forwarding entries (each may be gone already). */
export async function removeVxlanRoute(nodeNs: string, podCIDR: string, nodeIP: string, mac: string): Promise<void> {
  const gw = vtepAddress(podCIDR);
  const quietly = (cmd: string, args: string[]) => execFileAsync(cmd, args).catch(() => undefined);
  await quietly('ip', ['-n', nodeNs, 'route', 'del', podCIDR, 'via', gw, 'dev', VTEP, 'onlink']);
  await quietly('ip', ['-n', nodeNs, 'neigh', 'del', gw, 'dev', VTEP]);
  await quietly('ip', ['netns', 'exec', nodeNs, 'bridge', 'fdb', 'del', mac, 'dev', VTEP, 'dst', nodeIP]);
}
