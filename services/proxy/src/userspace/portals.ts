/**
 * The iptables rules of the userspace data path (userspace mode, and ipvs mode
 * without kernel IPVS), as the historic userspace proxier wrote them
 * (pkg/proxy/userspace, Kubernetes ≤ 1.25): "portals" that steer a Service's
 * addresses to the local port where kube-proxy itself listens. Pure.
 *
 * - nat KUBE-PORTALS-CONTAINER (from PREROUTING: pod and external traffic):
 *   REDIRECT, which sends the packet to the primary address of the interface it
 *   came in on; a UDP reply then leaves from that same address and conntrack
 *   un-NATs it.
 * - nat KUBE-PORTALS-HOST (from OUTPUT: the node's own traffic): DNAT to the node's
 *   IP, not REDIRECT — REDIRECT of a local packet goes to 127.0.0.1 while the UDP
 *   reply would leave from the node IP, which breaks the un-NAT (DNS answers get dropped).
 * - nat KUBE-NODEPORT-CONTAINER / KUBE-NODEPORT-HOST: the same for NodePorts, on any
 *   local address (the jump matches --dst-type LOCAL and comes after the portals).
 * - filter KUBE-NODEPORT-NON-LOCAL: accept new connections to the proxy ports (a
 *   default-deny INPUT would otherwise drop redirected NodePort traffic).
 * - filter KUBE-PORTALS-REJECT: kemu's addition — a Service port without endpoints
 *   gets no portal and a REJECT instead, so clients are refused at once as in the
 *   other modes (the historic proxier accepted and then closed the connection).
 */
import type { IptablesJump } from '../iptables/jumps.js';
import { servicePortNameString, type ServicePortInfo } from '../model/types.js';

export const PORTALS_CONTAINER = 'KUBE-PORTALS-CONTAINER';
export const PORTALS_HOST = 'KUBE-PORTALS-HOST';
export const NODEPORT_CONTAINER = 'KUBE-NODEPORT-CONTAINER';
export const NODEPORT_HOST = 'KUBE-NODEPORT-HOST';
export const NODEPORT_NON_LOCAL = 'KUBE-NODEPORT-NON-LOCAL';
export const PORTALS_REJECT = 'KUBE-PORTALS-REJECT';

/** Every chain the userspace data path owns, per table. */
export const USERSPACE_CHAINS: Readonly<Record<'nat' | 'filter', readonly string[]>> = {
  nat: [PORTALS_CONTAINER, PORTALS_HOST, NODEPORT_CONTAINER, NODEPORT_HOST],
  filter: [NODEPORT_NON_LOCAL, PORTALS_REJECT],
};

const ALL = new Set([...USERSPACE_CHAINS.nat, ...USERSPACE_CHAINS.filter]);

/** Whether a chain belongs to the userspace data path (and not to the iptables mode). */
export function isUserspaceChain(chain: string): boolean {
  return ALL.has(chain);
}

/** A jump from a built-in chain, and where it goes: portals first, NodePorts after every other rule. */
export interface PortalJump extends IptablesJump {
  position: 'first' | 'last';
}

const c = (text: string): string[] => ['-m', 'comment', '--comment', text];
const PORTALS_COMMENT = 'handle ClusterIPs; NOTE: this must be before the NodePort rules';
const NODEPORTS_COMMENT = 'handle service NodePorts; NOTE: this must be the last rule in the chain';
const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

export const PORTAL_JUMPS: readonly PortalJump[] = [
  { table: 'nat', chain: 'PREROUTING', target: PORTALS_CONTAINER, args: c(PORTALS_COMMENT), position: 'first' },
  { table: 'nat', chain: 'OUTPUT', target: PORTALS_HOST, args: c(PORTALS_COMMENT), position: 'first' },
  { table: 'nat', chain: 'PREROUTING', target: NODEPORT_CONTAINER, args: ['-m', 'addrtype', '--dst-type', 'LOCAL', ...c(NODEPORTS_COMMENT)], position: 'last' },
  { table: 'nat', chain: 'OUTPUT', target: NODEPORT_HOST, args: ['-m', 'addrtype', '--dst-type', 'LOCAL', ...c(NODEPORTS_COMMENT)], position: 'last' },
  { table: 'filter', chain: 'INPUT', target: NODEPORT_NON_LOCAL, args: c('Ensure that non-local NodePort traffic can flow'), position: 'first' },
  { table: 'filter', chain: 'INPUT', target: PORTALS_REJECT, args: [...NEW, ...c('kubernetes service portals without endpoints')], position: 'first' },
  { table: 'filter', chain: 'FORWARD', target: PORTALS_REJECT, args: [...NEW, ...c('kubernetes service portals without endpoints')], position: 'first' },
  { table: 'filter', chain: 'OUTPUT', target: PORTALS_REJECT, args: [...NEW, ...c('kubernetes service portals without endpoints')], position: 'first' },
];

/** One Service port as the data path serves it. */
export interface Portal {
  service: ServicePortInfo;
  /** The local port kube-proxy listens on for it; undefined when it has no listener (no endpoints, or SCTP). */
  proxyPort?: number;
  /** Whether ClusterIP traffic has an endpoint to go to. */
  hasEndpoints: boolean;
}

const quote = (s: string): string => `"${s}"`;

/** The `iptables-restore --noflush` input that makes the userspace chains say exactly this (each chain is rewritten whole). */
export function buildPortalRules(portals: readonly Portal[], nodeIP: string): string {
  const nat: string[] = [];
  const filter: string[] = [];
  for (const { service: s, proxyPort, hasEndpoints } of portals) {
    const proto = s.protocol.toLowerCase();
    const spn = servicePortNameString(s);
    const ips = [s.clusterIP, ...s.externalIPs, ...s.loadBalancerIPs];
    if (hasEndpoints && proxyPort !== undefined) {
      for (const ip of ips) {
        const match = `-d ${ip}/32 -p ${proto} -m comment --comment ${quote(spn)} -m ${proto} --dport ${s.port}`;
        nat.push(`-A ${PORTALS_CONTAINER} ${match} -j REDIRECT --to-ports ${proxyPort}`);
        nat.push(`-A ${PORTALS_HOST} ${match} -j DNAT --to-destination ${nodeIP}:${proxyPort}`);
      }
      if (s.nodePort !== 0) {
        const match = `-p ${proto} -m comment --comment ${quote(spn)} -m ${proto} --dport ${s.nodePort}`;
        nat.push(`-A ${NODEPORT_CONTAINER} ${match} -j REDIRECT --to-ports ${proxyPort}`);
        nat.push(`-A ${NODEPORT_HOST} ${match} -j DNAT --to-destination ${nodeIP}:${proxyPort}`);
        filter.push(`-A ${NODEPORT_NON_LOCAL} -p ${proto} -m comment --comment ${quote(spn)} -m ${proto} --dport ${proxyPort} -j ACCEPT`);
      }
    } else {
      const comment = quote(`${spn} has no endpoints`);
      for (const ip of ips) {
        filter.push(
          `-A ${PORTALS_REJECT} -d ${ip}/32 -p ${proto} -m comment --comment ${comment} -m ${proto} --dport ${s.port} -j REJECT --reject-with icmp-port-unreachable`,
        );
      }
      if (s.nodePort !== 0) {
        filter.push(
          `-A ${PORTALS_REJECT} -p ${proto} -m comment --comment ${comment} -m addrtype --dst-type LOCAL -m ${proto} --dport ${s.nodePort} -j REJECT --reject-with icmp-port-unreachable`,
        );
      }
    }
  }
  const chains = (t: 'nat' | 'filter'): string[] => USERSPACE_CHAINS[t].map((ch) => `:${ch} - [0:0]`);
  return ['*nat', ...chains('nat'), ...nat, 'COMMIT', '*filter', ...chains('filter'), ...filter, 'COMMIT', ''].join('\n');
}
