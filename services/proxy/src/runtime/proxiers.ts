/**
 * The two kernel data paths: each turns the model into rules and writes them with
 * one tool call per sync. They remember what the last successful sync wrote, so
 * a sync can be partial; any failure makes the next sync full. (nftables: nftables-proxier.ts.)
 */
import { IptablesRuleMemo, NAT_TRANSACTION_SERVICES, buildIptablesRules, type IptablesOptions } from '../iptables/ruleset.js';
import { omitUnchangedChains } from '../iptables/partial.js';
import { changedFingerprints, serviceFingerprints } from '../model/fingerprints.js';
import { iptablesJumps, jumpRuleArgs } from '../iptables/jumps.js';
import type { NodeFacts, ServiceEntry } from '../model/types.js';
import { iptablesTools, type IptablesBackend, type IptablesTools } from './backend.js';
import { run, type Exec } from './exec.js';
import { hasJump, iptablesCleanupInput, kubeNatChains, parseIptablesSave } from './kernel.js';

export { NftablesProxier, cleanupNftables } from './nftables-proxier.js';

/** The data path a Proxier programs (ipvs mode runs the userspace one where the kernel has no IPVS). */
export type KernelMode = 'iptables' | 'nftables' | 'userspace';

export interface SyncOutcome {
  full: boolean;
  /** Services ("namespace/name") whose chains this sync rewrote; undefined for a full sync (all of them). */
  changed?: number;
  /** "-A" rules per table after the sync (iptables mode). */
  ruleCounts?: Record<string, number>;
  /** Stale per-service chains removed. */
  deletedChains: number;
  /**
   * Sync again within this many ms even if nothing changes (nftables mode: flushed stale chains wait to be deleted by a
   * later sync's transaction).
   */
  resyncInMs?: number;
}

export interface Proxier {
  readonly mode: KernelMode;
  /** Make the kernel match `entries`. `full` rewrites everything and reconciles with what the kernel holds. Throws on failure. */
  sync(entries: readonly ServiceEntry[], node: NodeFacts, full: boolean): Promise<SyncOutcome>;
  /**
   * Whether something removed this data path's rules since its last full sync (checked on every periodic tick; a
   * data path without this check resyncs fully on every tick).
   */
  rulesLost?(): Promise<boolean>;
  /** false: no hourly full sync either (kube-proxy's nftables mode); default true. */
  readonly periodicFullSync?: boolean;
}

/**
 * kube-proxy's canary: an empty chain in each table it writes. Whoever flushes a table (iptables -F, a firewall
 * reload) takes the canary with it, and the next periodic tick finds it gone and resyncs fully.
 */
const CANARY = 'KUBE-PROXY-CANARY';
const CANARY_TABLES = ['mangle', 'nat', 'filter'] as const;

// iptables-restore and iptables wait up to 5 s for the xtables lock (the kubelet writes its own rules too).
const WAIT = ['-w', '5'];

export class IptablesProxier implements Proxier {
  readonly mode = 'iptables';
  /** What the last successful sync left in the kernel: its Services' fingerprints, chains in use, top-level chains' rules. */
  private last:
    | {
        fingerprints: Map<string, string>;
        nodeKey: string;
        activeNatChains: string[];
        topLevel: Map<string, string[]>;
      }
    | undefined;
  private needFull = true;
  /**
   * Whether the kernel holds exactly what the last sync wrote: false at start, after a failed sync and when a canary
   * chain was found gone. Only then does a full sync read the tables back (iptables-save: stale chains, missing
   * jumps); otherwise it knows which chains exist, as kube-proxy in large-cluster mode skips iptables-save, which
   * takes seconds of CPU with iptables-nft at 15,000 chains.
   */
  private kernelKnown = false;
  private readonly tools: IptablesTools;
  private readonly rules = new IptablesRuleMemo();
  private readonly fingerprints = new WeakMap<ServiceEntry, string>();

  constructor(
    private readonly exec: Exec,
    private readonly options: IptablesOptions = {},
    /** Which iptables runs the rules: iptables-nft, iptables-legacy, or (undefined) whatever `iptables` is here. */
    readonly backend?: IptablesBackend,
  ) {
    this.tools = iptablesTools(backend);
  }

  async sync(entries: readonly ServiceEntry[], node: NodeFacts, forceFull: boolean): Promise<SyncOutcome> {
    const nodeKey = JSON.stringify(node);
    const last = this.last;
    const full = forceFull || this.needFull || last === undefined || last.nodeKey !== nodeKey;
    // Until this sync succeeds, whatever the kernel holds is uncertain: the next one is full and reads it afresh.
    this.needFull = true;
    const known = this.kernelKnown && last !== undefined;
    this.kernelKnown = false;
    const fingerprints = serviceFingerprints(entries, this.fingerprints);
    let existing: readonly string[];
    let changed: Set<string> | undefined;
    if (!known) {
      // Reconcile with the kernel: a restarted kube-proxy (or one whose restore failed) learns which of its
      // chains exist, so the ones no Service uses any more are deleted and none is created twice.
      const saved = parseIptablesSave(await run(this.exec, this.tools.save, []));
      await this.ensureJumps(saved);
      for (const table of CANARY_TABLES) if (!(saved.get(table)?.chains ?? []).includes(CANARY)) await this.newChain(table, CANARY);
      existing = kubeNatChains(saved);
    } else {
      existing = last.activeNatChains;
      if (!full) changed = changedFingerprints(last.fingerprints, fingerprints);
    }
    const ruleset = buildIptablesRules({
      entries,
      node,
      options: this.options,
      existingNatChains: existing,
      memo: this.rules,
      // iptables-legacy replaces the whole table on each COMMIT: one transaction. iptables-nft (also the host's
      // `iptables` on Debian and most distributions today) gets several when many Services' chains are written.
      ...(this.backend !== 'legacy' ? { natTransactionServices: NAT_TRANSACTION_SERVICES } : {}),
      ...(changed ? { changedServices: changed } : {}),
    });
    const input = changed && last ? omitUnchangedChains(ruleset, last.topLevel) : ruleset.text;
    // A change that changes no rule (a slice rewritten with the same endpoints) leaves nothing to restore.
    if (input !== '') await run(this.exec, this.tools.restore, [...WAIT, '--noflush', '--counters'], input);
    this.last = {
      fingerprints,
      nodeKey,
      activeNatChains: [...ruleset.activeNatChains],
      topLevel: ruleset.topLevel,
    };
    this.needFull = false;
    this.kernelKnown = true;
    return {
      full: changed === undefined,
      ...(changed ? { changed: changed.size } : {}),
      ruleCounts: ruleset.ruleCounts,
      deletedChains: ruleset.deletedChains.length,
    };
  }

  async rulesLost(): Promise<boolean> {
    for (const table of CANARY_TABLES) {
      if ((await this.exec(this.tools.iptables, [...WAIT, '-t', table, '-S', CANARY])).code !== 0) {
        this.kernelKnown = false;
        return true;
      }
    }
    return false;
  }

  /** `iptables -N`, where a chain that exists already is no error. */
  private async newChain(table: string, chain: string): Promise<void> {
    const r = await this.exec(this.tools.iptables, [...WAIT, '-t', table, '-N', chain]);
    if (r.code !== 0 && !/exists/i.test(r.stderr)) await run(this.exec, this.tools.iptables, [...WAIT, '-t', table, '-N', chain]);
  }

  /**
   * The jumps from the built-in chains are not part of the restore input (that would
   * replace every rule of INPUT, FORWARD, ...): each is inserted first in its chain
   * when missing, as kube-proxy does, after creating the chain it jumps to.
   */
  private async ensureJumps(saved: ReturnType<typeof parseIptablesSave>): Promise<void> {
    for (const j of iptablesJumps({ localhostNodePorts: this.options.localhostNodePorts ?? true })) {
      if (hasJump(saved, j.table, j.chain, j.target)) continue;
      if (!(saved.get(j.table)?.chains ?? []).includes(j.target)) {
        await this.newChain(j.table, j.target);
        saved.get(j.table)?.chains.push(j.target);
      }
      await run(this.exec, this.tools.iptables, [...WAIT, '-t', j.table, '-I', j.chain, ...jumpRuleArgs(j)]);
    }
  }
}

/**
 * Remove kube-proxy's chains and the jumps into them from the iptables tables: every
 * one by default, or those `owned` picks (one mode's, when another mode starts), with
 * the host's iptables or the given backend's. Returns how many chains went.
 */
export async function cleanupIptables(exec: Exec, owned?: (chain: string) => boolean, backend?: IptablesBackend): Promise<number> {
  const tools = iptablesTools(backend);
  const r = await exec(tools.save, []);
  if (r.code !== 0) return 0; // no iptables here: nothing of ours either
  const saved = parseIptablesSave(r.stdout);
  const input = iptablesCleanupInput(saved, owned);
  if (input) await run(exec, tools.restore, [...WAIT, '--noflush'], input);
  return [...saved.values()].reduce((n, t) => n + t.chains.filter((c) => input.includes(`-X ${c}\n`)).length, 0);
}
