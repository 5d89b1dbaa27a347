/**
 * The nftables data path: one `nft -f` transaction per sync into the `ip kube-proxy` table, partial as in
 * kube-proxy's nftables proxier (only the changed Services' chains rewritten, the dispatch maps' elements brought up
 * to date one by one), full at start, after a failure, when the node's facts change and when the table was removed.
 * Stale chains are flushed by one sync and deleted by the transaction of a sync at least 1 s later; while some wait,
 * each sync says when the next one should run (`resyncInMs`) so they go even if nothing else changes.
 */
import { NFT_TABLE, STALE_CHAIN_DELAY_MS, buildNftablesTransaction, type NftElements, type NftablesOptions } from '../nftables/transaction.js';
import { NftServiceMemo } from '../nftables/service-ops.js';
import { changedFingerprints, serviceFingerprints } from '../model/fingerprints.js';
import type { NodeFacts, ServiceEntry } from '../model/types.js';
import { run, type Exec } from './exec.js';
import { parseNftTable } from './kernel.js';
import type { Proxier, SyncOutcome } from './proxiers.js';

/** What the last successful sync left in the table. */
interface Written {
  nodeKey: string;
  fingerprints: Map<string, string>;
  elements: NftElements;
  /** Per-service chains in use. */
  chains: string[];
  affinitySets: string[];
}

export class NftablesProxier implements Proxier {
  readonly mode = 'nftables';
  /** kube-proxy's nftables mode has no periodic full sync (its needFullSync is set only at start and by failures). */
  readonly periodicFullSync = false;
  private last: Written | undefined;
  /** Set when a sync fails or the table was found gone: the next sync is full and reads the table's names first. */
  private needFull = true;
  private readonly memo = new NftServiceMemo();
  private readonly fingerprints = new WeakMap<ServiceEntry, string>();
  /**
   * kube-proxy's staleChains: service chains flushed by a successful sync and not deleted yet, with when (ms). Empty
   * after a failure: the next sync, full, lists the table and flushes again whatever is stale.
   */
  private pending = new Map<string, number>();

  constructor(
    private readonly exec: Exec,
    private readonly options: NftablesOptions = {},
    private readonly now: () => number = Date.now,
  ) {}

  async sync(entries: readonly ServiceEntry[], node: NodeFacts, forceFull: boolean): Promise<SyncOutcome> {
    const nodeKey = JSON.stringify(node);
    const last = this.last;
    const known = !this.needFull && last !== undefined;
    const full = forceFull || !known || last.nodeKey !== nodeKey;
    // Until this sync succeeds, what the table holds is uncertain: the next one is full and reads it afresh.
    this.needFull = true;
    // Chains waiting for deletion are known to exist only while the table is: a sync that reads the table flushes
    // whatever it finds stale again.
    const pending = known ? this.pending : new Map<string, number>();
    this.pending = new Map();
    const now = this.now();
    const fingerprints = serviceFingerprints(entries, this.fingerprints);
    let existing: { chains: readonly string[]; sets: readonly string[] };
    if (known) {
      existing = { chains: last.chains, sets: last.affinitySets };
    } else {
      // Only the names matter: listing the whole table (every rule, every map element) took longer than writing
      // it (0.7 s against 0.1 s at 2,000 Services).
      const chains = await this.exec('nft', ['list', 'chains', 'ip']);
      const sets = await this.exec('nft', ['-t', 'list', 'sets', 'ip']);
      existing = {
        chains: chains.code === 0 ? parseNftTable(chains.stdout, NFT_TABLE).chains : [],
        sets: sets.code === 0 ? parseNftTable(sets.stdout, NFT_TABLE).sets : [],
      };
    }
    const changed = full || !last ? undefined : changedFingerprints(last.fingerprints, fingerprints);
    const tx = buildNftablesTransaction({
      entries,
      node,
      options: this.options,
      existingChains: existing.chains,
      existingSets: existing.sets,
      memo: this.memo,
      pendingChains: pending,
      now,
      ...(changed && last ? { partial: { changedServices: changed, elements: last.elements } } : {}),
    });
    // A partial sync in which nothing changed (a periodic one, a slice rewritten alike) writes nothing.
    if (tx.input !== '') await run(this.exec, 'nft', ['-f', '-'], tx.input);
    this.last = { nodeKey, fingerprints, elements: tx.elements, chains: [...tx.activeChains], affinitySets: [...tx.activeSets] };
    this.pending = tx.pendingChains;
    this.needFull = false;
    let due = Infinity;
    for (const flushedAt of tx.pendingChains.values()) due = Math.min(due, flushedAt + STALE_CHAIN_DELAY_MS);
    return {
      full: changed === undefined,
      ...(changed ? { changed: changed.size } : {}),
      deletedChains: tx.deletedChains.length,
      ...(tx.pendingChains.size > 0 ? { resyncInMs: Math.max(0, due - now) } : {}),
    };
  }

  /**
   * Whether the table is gone (`nft flush ruleset`, as a firewall reload does, or `nft delete table`). kube-proxy's
   * nftables mode does not look (it owns its table); kemu's periodic tick does, with the cheapest listing there is,
   * so a removed table comes back within a --sync-period instead of at the next change that fails.
   */
  async rulesLost(): Promise<boolean> {
    const r = await this.exec('nft', ['list', 'tables', 'ip']);
    const lost = r.code !== 0 || !r.stdout.split('\n').some((l) => l.trim() === `table ip ${NFT_TABLE}`);
    if (lost) this.needFull = true;
    return lost;
  }
}

/** Remove the `ip kube-proxy` table. Whether there was one. */
export async function cleanupNftables(exec: Exec): Promise<boolean> {
  const listed = await exec('nft', ['list', 'table', 'ip', NFT_TABLE]);
  if (listed.code !== 0) return false;
  await run(exec, 'nft', ['delete', 'table', 'ip', NFT_TABLE]);
  return true;
}
