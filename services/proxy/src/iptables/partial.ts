/**
 * Partial iptables sync: kube-proxy rewrites only the chains of Services whose
 * Service or endpoints changed since the last sync; the top-level chains
 * (KUBE-SERVICES, KUBE-NODEPORTS, the filter table) are always rewritten whole.
 */
import type { NodeFacts, ServiceEntry } from '../model/types.js';
import { buildIptablesRules, type IptablesOptions, type IptablesRuleset } from './ruleset.js';

/** "namespace/name" of every Service whose ports or endpoints differ between two models (added and removed ones too). */
export function changedServices(prev: readonly ServiceEntry[], next: readonly ServiceEntry[]): Set<string> {
  const group = (entries: readonly ServiceEntry[]): Map<string, string> => {
    const parts = new Map<string, ServiceEntry[]>();
    for (const e of entries) {
      const nn = `${e.service.namespace}/${e.service.name}`;
      parts.set(nn, [...(parts.get(nn) ?? []), e]);
    }
    return new Map([...parts].map(([nn, es]) => [nn, JSON.stringify(es)]));
  };
  const a = group(prev);
  const b = group(next);
  const changed = new Set<string>();
  for (const [nn, s] of a) if (b.get(nn) !== s) changed.add(nn);
  for (const nn of b.keys()) if (!a.has(nn)) changed.add(nn);
  return changed;
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
