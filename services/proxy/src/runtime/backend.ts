/**
 * Which iptables the iptables mode runs. iptables 1.8 comes in two builds that program different kernel subsystems:
 * iptables-legacy (x_tables) and iptables-nft (nf_tables, behind the same command line). Rules of both run, in an
 * order neither controls, so a node should use one: Kubernetes' kube-proxy image picks, with iptables-wrapper,
 * whichever the node already uses. The two also differ in cost: iptables-nft 1.8.9 keeps the chains a transaction
 * names in a list sorted by name and walks it for every rule, so a restore of 5,000 Services (15,000 chains, 40,000
 * rules) in one transaction costs it 9-13 s of CPU where iptables-legacy-restore takes under one; kemu splits such
 * a restore into transactions of a few hundred Services for it (ruleset.ts, NAT_TRANSACTION_SERVICES).
 */
import type { Exec } from './exec.js';

export const IPTABLES_BACKENDS = ['nft', 'legacy'] as const;
export type IptablesBackend = (typeof IPTABLES_BACKENDS)[number];

/** The three commands a sync runs. */
export interface IptablesTools {
  iptables: string;
  save: string;
  restore: string;
}

/** The commands of a backend; without one, the host's own `iptables` (its alternatives decide). */
export function iptablesTools(backend?: IptablesBackend): IptablesTools {
  if (backend === undefined) return { iptables: 'iptables', save: 'iptables-save', restore: 'iptables-restore' };
  return { iptables: `iptables-${backend}`, save: `iptables-${backend}-save`, restore: `iptables-${backend}-restore` };
}

/** The chains the kubelet creates in mangle to say which iptables it uses (KEP-3178), as iptables-wrapper reads them. */
const HINT_CHAINS = ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY'];

/**
 * iptables-wrapper's choice from the two `iptables-save` listings: the backend whose mangle table holds the kubelet's
 * hint chain, else the one holding more rules, nft on a tie (an empty node).
 */
export function chooseBackend(saved: Record<IptablesBackend, string>): IptablesBackend {
  for (const b of ['legacy', 'nft'] as const) {
    if (HINT_CHAINS.some((c) => new RegExp(`^:${c} `, 'm').test(saved[b]))) return b;
  }
  const rules = (text: string): number => text.split('\n').filter((l) => l.startsWith('-')).length;
  return rules(saved.legacy) > rules(saved.nft) ? 'legacy' : 'nft';
}

/** Read both listings of this network namespace and choose (a backend that is not installed lists nothing). */
export async function detectBackend(exec: Exec): Promise<IptablesBackend> {
  const read = async (b: IptablesBackend): Promise<string> => {
    const r = await exec(iptablesTools(b).save, []);
    return r.code === 0 ? r.stdout : '';
  };
  return chooseBackend({ legacy: await read('legacy'), nft: await read('nft') });
}
