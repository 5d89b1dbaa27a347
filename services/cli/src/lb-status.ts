/**
 * Which node answers ARP for which LoadBalancer address, for `kemu status`: read
 * from the nodes' kernels (the speaker in each kube-proxy puts the addresses it
 * wins on the node's uplink as /32s labelled `<uplink>:lb`), not from any log, so
 * it shows what the network does even while a kube-proxy is down. An address on
 * a link that is down (a node cut off or dead) answers nobody and is left out.
 */
import { parseIPv4 } from '@kemu/api';
import { ip, nsExists, serviceNs } from './netns.js';

interface IpAddrJson {
  flags?: string[];
  addr_info?: { local?: string; prefixlen?: number; label?: string }[];
}

/** The LoadBalancer addresses each node holds, sorted by address. */
export function lbAnnouncements(project: string, nodes: readonly string[]): { ip: string; node: string }[] {
  const out: { ip: string; node: string }[] = [];
  for (const node of nodes) {
    const ns = serviceNs(project, node);
    if (!nsExists(ns)) continue;
    const text = ip(['-n', ns, '-j', '-4', 'addr', 'show'], { allowFail: true }).trim();
    const links = text ? (JSON.parse(text) as IpAddrJson[]) : [];
    for (const a of links.filter((l) => l.flags?.includes('UP')).flatMap((l) => l.addr_info ?? []))
      if (a.local && a.prefixlen === 32 && a.label?.endsWith(':lb')) out.push({ ip: a.local, node });
  }
  return out.sort((a, b) => parseIPv4(a.ip) - parseIPv4(b.ip) || a.node.localeCompare(b.node));
}
