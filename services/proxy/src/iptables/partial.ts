/**
 * Partial iptables sync: kube-proxy rewrites only the chains of Services whose
 * Service or endpoints changed since the last sync; the top-level chains
 * (KUBE-SERVICES, KUBE-NODEPORTS, the filter table) are always rewritten whole.
 */
import type { NodeFacts, ServiceEntry } from '../model/types.js';
import { changedFingerprints, serviceFingerprints } from '../model/fingerprints.js';
import { buildIptablesRules, type IptablesOptions, type IptablesRuleset } from './ruleset.js';

/** "namespace/name" of every Service whose ports or endpoints differ between two models (added and removed ones too). */
export function changedServices(prev: readonly ServiceEntry[], next: readonly ServiceEntry[]): Set<string> {
  return changedFingerprints(serviceFingerprints(prev), serviceFingerprints(next));
}

export interface PartialSyncInput {
  /** The model of the last successful sync. */
  prev: readonly ServiceEntry[];
  next: readonly ServiceEntry[];
  node: NodeFacts;
  options?: IptablesOptions;
  /**
   * The nat chains that exist now (`iptables-save -t nat`). When absent, the chains
   * the previous model's ruleset used are taken, which is what the kernel holds
   * after a successful sync.
   */
  existingNatChains?: readonly string[];
}

/**
 * The iptables-restore input that turns the previous sync's rules into the next
 * model's: unchanged Services' chains are neither declared nor written (declaring a
 * chain under --noflush would flush it), changed ones are rewritten whole, stale
 * ones are flushed and deleted (-X). A change of node facts or options needs a full
 * sync (buildIptablesRules without changedServices) instead.
 */
export function buildPartialIptablesRules(input: PartialSyncInput): IptablesRuleset {
  const existing = input.existingNatChains ?? [
    ...buildIptablesRules({ entries: input.prev, node: input.node, ...(input.options ? { options: input.options } : {}) }).activeNatChains,
  ];
  return buildIptablesRules({
    entries: input.next,
    node: input.node,
    ...(input.options ? { options: input.options } : {}),
    changedServices: changedServices(input.prev, input.next),
    existingNatChains: existing,
  });
}

/** The chain a restore line declares (":C - [0:0]") or appends to ("-A C ..."), else undefined. */
function chainOf(line: string): string | undefined {
  if (line.startsWith(':')) return line.slice(1).split(' ', 1)[0];
  if (line.startsWith('-A ')) return line.slice(3).split(' ', 1)[0];
  return undefined;
}

/**
 * A partial sync's input without the top-level chains whose rules are exactly what the last sync left in them.
 * kube-proxy rewrites KUBE-SERVICES on every partial sync; with iptables-nft that alone costs most of a second for
 * 5,000 Services (each rule appended walks the table's sorted chain list), while one Service's endpoints changing
 * leaves it as it was. A chain the input does not name is left alone by --noflush, so the result is the same.
 */
export function omitUnchangedChains(ruleset: Pick<IptablesRuleset, 'text' | 'topLevel'>, previous: ReadonlyMap<string, readonly string[]>): string {
  const same = new Set<string>();
  for (const [key, rules] of ruleset.topLevel) {
    const before = previous.get(key);
    if (before !== undefined && before.length === rules.length && before.every((r, i) => r === rules[i])) same.add(key);
  }
  if (same.size === 0) return ruleset.text;
  let table = '';
  const kept = ruleset.text.split('\n').filter((line) => {
    if (line.startsWith('*')) table = line.slice(1);
    const chain = chainOf(line);
    return chain === undefined || !same.has(`${table}/${chain}`);
  });
  // A table left with nothing to write is not sent at all.
  return kept.join('\n').replace(/^\*\w+\nCOMMIT\n/gm, '');
}
