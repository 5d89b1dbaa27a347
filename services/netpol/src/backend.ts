/**
 * Where the agent writes a node's plan: iptables (the filter table, through iptables-restore) or an nftables table of
 * its own. The agent follows kube-proxy's mode, as the issue asks and as kube-network-policies does for nftables
 * clusters: with kube-proxy in nftables mode the node's rules are nftables rules of their own tables, and the agent's
 * are too; in the other modes (iptables, ipvs, userspace) kube-proxy writes iptables, and so does the agent.
 */
import type { NodePlan } from './model.js';

export type PolicyBackendName = 'iptables' | 'nftables';

/** The agent's backend for kube-proxy's mode: nftables for nftables, iptables for every other mode. */
export function backendForProxyMode(mode: string | undefined): PolicyBackendName {
  return mode === 'nftables' ? 'nftables' : 'iptables';
}

/** How long the two halves of a write took (the agent's metrics say where a sync's time goes). */
export interface WriteTimes {
  /** Turning the plan into the tool's input (and the difference from what the kernel holds). */
  renderMs: number;
  /** The tool run(s): iptables-restore or nft -f, until they exit. */
  writeMs: number;
  /** Lines handed to the tool (0: nothing changed, nothing run). */
  lines: number;
}

export interface PolicyBackend {
  readonly name: PolicyBackendName;
  /**
   * Bring the kernel to `plan`. `full`: write everything (the periodic sync, a retry), else only what changed since
   * the last successful write. A failure throws and leaves the kernel as it was (each write is one transaction).
   */
  write(plan: NodePlan, full: boolean): Promise<WriteTimes>;
  /**
   * Whether rules of the agent went missing behind its back (the periodic check, as kube-proxy's canaries): the next
   * write is then a full one. Also puts back what is cheap to put back in place (iptables: the jumps).
   */
  rulesLost(): Promise<boolean>;
}
