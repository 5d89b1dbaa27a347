/**
 * What is in the kernel now, read from `iptables-save` and `nft list table`, and
 * the inputs that remove kube-proxy's rules again (`kube-proxy --cleanup`). Pure.
 */
import { isServiceChainName } from '../naming.js';
import { isUserspaceChain } from '../userspace/portals.js';

export interface SavedRule {
  chain: string;
  /** Everything after "-A CHAIN ". */
  spec: string;
  /** The -j target, when there is one. */
  target?: string;
}

export interface SavedTable {
  chains: string[];
  rules: SavedRule[];
}

/** `iptables-save` output → its tables (name → chains and rules). */
export function parseIptablesSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let cur: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) tables.set(line.slice(1).trim(), (cur = { chains: [], rules: [] }));
    else if (!cur) continue;
    else if (line.startsWith(':')) cur.chains.push(line.slice(1).split(' ')[0] ?? '');
    else if (line.startsWith('-A ')) {
      const rest = line.slice(3);
      const i = rest.indexOf(' ');
      const chain = i < 0 ? rest : rest.slice(0, i);
      const spec = i < 0 ? '' : rest.slice(i + 1);
      // The last "-j X" is the target (a comment would have to contain " -j " to fool this).
      const target = [...` ${spec}`.matchAll(/ -j (\S+)/g)].at(-1)?.[1];
      cur.rules.push({ chain, spec, ...(target ? { target } : {}) });
    }
  }
  return tables;
}

/** The top-level chains kube-proxy's iptables mode writes (per-service chains come on top). */
const KUBE_PROXY_CHAINS = new Set([
  'KUBE-SERVICES',
  'KUBE-EXTERNAL-SERVICES',
  'KUBE-FORWARD',
  'KUBE-NODEPORTS',
  'KUBE-PROXY-FIREWALL',
  'KUBE-POSTROUTING',
  'KUBE-MARK-MASQ',
  'KUBE-FIREWALL',
  'KUBE-PROXY-CANARY',
]);

/**
 * Whether the iptables mode owns a chain. KUBE-MARK-MASQ and KUBE-FIREWALL belong to the
 * kubelet in Kubernetes; kemu's kubelet writes neither (its own chain is KEMU-MASQ),
 * so here kube-proxy creates them and removes them again.
 */
export function isIptablesModeChain(chain: string): boolean {
  return KUBE_PROXY_CHAINS.has(chain) || isServiceChainName(chain);
}

/** Whether kube-proxy owns a chain, in any mode (the iptables mode's, or the userspace data path's portals). */
export function isKubeProxyChain(chain: string): boolean {
  return isIptablesModeChain(chain) || isUserspaceChain(chain);
}

/** Whether `chain` of `table` already holds a rule that jumps to `target` (so the jump need not be inserted). */
export function hasJump(saved: Map<string, SavedTable>, table: string, chain: string, target: string): boolean {
  return (saved.get(table)?.rules ?? []).some((r) => r.chain === chain && r.target === target);
}

/** The nat chains the iptables mode owns that exist now: the ones a full sync may find stale. */
export function kubeNatChains(saved: Map<string, SavedTable>): string[] {
  return (saved.get('nat')?.chains ?? []).filter(isIptablesModeChain);
}

/**
 * The `iptables-restore --noflush` input that removes every chain `owned` picks (by
 * default every kube-proxy chain of any mode) and every jump into one, or '' when
 * there is nothing to remove. Chains are flushed first (declaring a chain flushes
 * it), so references between them go before -X.
 */
export function iptablesCleanupInput(saved: Map<string, SavedTable>, owned: (chain: string) => boolean = isKubeProxyChain): string {
  const out: string[] = [];
  for (const [table, t] of saved) {
    const mine = t.chains.filter(owned);
    const jumps = t.rules.filter((r) => !owned(r.chain) && r.target !== undefined && owned(r.target));
    if (mine.length === 0 && jumps.length === 0) continue;
    out.push(`*${table}`, ...mine.map((c) => `:${c} - [0:0]`), ...jumps.map((r) => `-D ${r.chain} ${r.spec}`), ...mine.map((c) => `-X ${c}`), 'COMMIT');
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * Chains and sets of one table (kube-proxy's by default) in `nft list` output: `list table ip kube-proxy`, or
 * `list chains ip` / `list sets ip`, which show every table of the family.
 */
export function parseNftTable(text: string, table = 'kube-proxy'): { chains: string[]; sets: string[] } {
  const chains: string[] = [];
  const sets: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const t = /^table \S+ (\S+) \{/.exec(line);
    if (t) current = t[1];
    const m = /^\s*(chain|set|map) (\S+) \{/.exec(line);
    if (current !== table) continue;
    if (m?.[1] === 'chain') chains.push(m[2]);
    else if (m?.[1] === 'set') sets.push(m[2]);
  }
  return { chains, sets };
}

/** Number of "-A" rules per table in an iptables-restore input (what kube-proxy reports as iptables_total). */
export function countRules(restoreInput: string): Record<string, number> {
  const counts: Record<string, number> = {};
  let table = '';
  for (const line of restoreInput.split('\n')) {
    if (line.startsWith('*')) counts[(table = line.slice(1))] = 0;
    else if (line.startsWith('-A ') && table) counts[table] = (counts[table] ?? 0) + 1;
  }
  return counts;
}
