/**
 * The rules that hook kube-proxy's chains into the built-in ones. kube-proxy does not
 * write these with iptables-restore (that would replace every rule of INPUT, FORWARD,
 * ...); it checks each with `iptables -C` and inserts it at the top with `-I` when
 * missing. This is that list (pkg/proxy/iptables iptablesJumpChains).
 */

export interface IptablesJump {
  table: 'filter' | 'nat';
  /** The built-in chain the rule lives in. */
  chain: 'INPUT' | 'FORWARD' | 'OUTPUT' | 'PREROUTING' | 'POSTROUTING';
  /** kube-proxy's chain it jumps to. */
  target: string;
  /** Match arguments and comment, without "-j target". */
  args: string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];
const c = (text: string): string[] => ['-m', 'comment', '--comment', text];

const JUMPS: readonly IptablesJump[] = [
  { table: 'filter', chain: 'INPUT', target: 'KUBE-EXTERNAL-SERVICES', args: [...NEW, ...c('kubernetes externally-visible service portals')] },
  { table: 'filter', chain: 'FORWARD', target: 'KUBE-EXTERNAL-SERVICES', args: [...NEW, ...c('kubernetes externally-visible service portals')] },
  { table: 'filter', chain: 'INPUT', target: 'KUBE-NODEPORTS', args: c('kubernetes health check service ports') },
  { table: 'filter', chain: 'FORWARD', target: 'KUBE-SERVICES', args: [...NEW, ...c('kubernetes service portals')] },
  { table: 'filter', chain: 'OUTPUT', target: 'KUBE-SERVICES', args: [...NEW, ...c('kubernetes service portals')] },
  { table: 'filter', chain: 'FORWARD', target: 'KUBE-FORWARD', args: c('kubernetes forwarding rules') },
  { table: 'filter', chain: 'INPUT', target: 'KUBE-PROXY-FIREWALL', args: [...NEW, ...c('kubernetes load balancer firewall')] },
  { table: 'filter', chain: 'OUTPUT', target: 'KUBE-PROXY-FIREWALL', args: [...NEW, ...c('kubernetes load balancer firewall')] },
  { table: 'filter', chain: 'FORWARD', target: 'KUBE-PROXY-FIREWALL', args: [...NEW, ...c('kubernetes load balancer firewall')] },
  { table: 'nat', chain: 'OUTPUT', target: 'KUBE-SERVICES', args: c('kubernetes service portals') },
  { table: 'nat', chain: 'PREROUTING', target: 'KUBE-SERVICES', args: c('kubernetes service portals') },
  { table: 'nat', chain: 'POSTROUTING', target: 'KUBE-POSTROUTING', args: c('kubernetes postrouting rules') },
];

/** kubelet's anti-martian chain, which kube-proxy also hooks when localhost NodePorts are on. */
const KUBELET_FIREWALL_JUMPS: readonly IptablesJump[] = [
  { table: 'filter', chain: 'INPUT', target: 'KUBE-FIREWALL', args: [] },
  { table: 'filter', chain: 'OUTPUT', target: 'KUBE-FIREWALL', args: [] },
];

/** The jump rules, in the order kube-proxy ensures them (each is inserted first in its chain). */
export function iptablesJumps(opts: { localhostNodePorts?: boolean } = {}): IptablesJump[] {
  return [...JUMPS, ...((opts.localhostNodePorts ?? true) ? KUBELET_FIREWALL_JUMPS : [])];
}

/** Arguments after `iptables -t TABLE -C|-I|-D CHAIN`. The comment is one argv entry (no shell quoting). */
export function jumpRuleArgs(j: IptablesJump): string[] {
  return [...j.args, '-j', j.target];
}
