/**
 * How a node answers ARP for a LoadBalancer address: the address goes on the node's
 * uplink as a /32 (no prefix route, so nothing else about the node's routing changes)
 * and the kernel answers ARP for it as for any local address; a gratuitous ARP on
 * takeover moves the neighbours' caches at once instead of when their entries expire.
 * Removing the /32 stops the answers. MetalLB answers from user space with a raw socket
 * instead; kube-vip does what is done here.
 *
 * Our addresses carry the label `<uplink>:lb`, so a restarted speaker finds the ones a
 * previous run left (and only those) and a person sees them in `ip addr`.
 */
import { run, ToolError, type Exec } from '../runtime/exec.js';

/** The part of `ip -j addr show` read here. */
interface IpAddrJson {
  ifname: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number; label?: string }[];
}

/** The label of our addresses on `dev` (an address label is at most 15 bytes and must begin with the device's name). */
export function lbLabel(dev: string): string {
  const label = `${dev}:lb`;
  if (label.length > 15) throw new Error(`interface name "${dev}" is too long to label LoadBalancer addresses on it`);
  return label;
}

export class InterfaceAddresses {
  constructor(private exec: Exec) {}

  private async show(args: string[]): Promise<IpAddrJson[]> {
    const out = await run(this.exec, 'ip', ['-j', '-4', 'addr', 'show', ...args]);
    return out.trim() ? (JSON.parse(out) as IpAddrJson[]) : [];
  }

  /** The interface that holds `nodeIP` (the node's leg on the node network), or undefined. */
  async uplink(nodeIP: string): Promise<string | undefined> {
    return (await this.show([])).find((l) => l.addr_info?.some((a) => a.local === nodeIP))?.ifname;
  }

  /** The LoadBalancer addresses on `dev` now (ours by their label). */
  async list(dev: string): Promise<string[]> {
    const label = lbLabel(dev);
    return (await this.show(['dev', dev]))
      .flatMap((l) => l.addr_info ?? [])
      .filter((a) => a.label === label && a.prefixlen === 32 && a.local)
      .map((a) => a.local as string);
  }

  async add(dev: string, ip: string): Promise<void> {
    await run(this.exec, 'ip', ['addr', 'replace', `${ip}/32`, 'dev', dev, 'label', lbLabel(dev)]);
  }

  async remove(dev: string, ip: string): Promise<void> {
    const args = ['addr', 'del', `${ip}/32`, 'dev', dev];
    const r = await this.exec('ip', args);
    // Gone already (removed by hand) is what we wanted.
    if (r.code !== 0 && (await this.list(dev)).includes(ip)) throw new ToolError(`ip ${args.join(' ')}`, r.code, r.stderr);
  }

  /**
   * Gratuitous ARP (iputils arping -U: a request from the address to itself, broadcast):
   * every neighbour that has the address cached takes this node's MAC for it. Twice, a
   * second apart, as one lost frame would otherwise leave a client on the old node.
   */
  async announce(dev: string, ip: string): Promise<void> {
    await run(this.exec, 'arping', ['-U', '-c', '2', '-I', dev, '-s', ip, ip]);
  }
}
