/**
 * The nftables backend: the agent's own table (nft.ts), written with one `nft -f` transaction per sync — everything
 * on a full write, else only what changed since the last one. Nothing is read back from the kernel: the agent owns
 * the table, and the periodic full write puts back whatever someone else changed in it.
 */
import { ToolError, type Exec } from '@kemu/proxy';
import type { PolicyBackend, WriteTimes } from './backend.js';
import { removeIptablesRules } from './iptables-backend.js';
import type { NodePlan } from './model.js';
import { BASE_CANARY, NFT_FAMILY, NFT_TABLE, nftChanges, nftFull, nftState, type NftState } from './nft.js';

export function nftablesBackend(exec: Exec): PolicyBackend {
  // What the last successful write left; none at first, so the first write is a full one (it replaces the table an
  // earlier run left, in the same transaction).
  let written: NftState | undefined;
  let otherRemoved = false;
  return {
    name: 'nftables',
    async write(plan: NodePlan, full: boolean): Promise<WriteTimes> {
      const started = performance.now();
      const next = nftState(plan);
      const input = full || !written ? nftFull(next) : nftChanges(written, next);
      const rendered = performance.now();
      if (input) {
        const r = await exec('nft', ['-f', '-'], input);
        if (r.code !== 0) {
          // Unknown what the kernel holds now that the difference did not apply: the retry writes everything.
          written = undefined;
          throw new ToolError('nft -f -', r.code, r.stderr);
        }
      }
      written = next;
      if (!otherRemoved) {
        // The node ran another proxy mode before: the agent's iptables rules from then go, once this table enforces.
        await removeIptablesRules(exec);
        otherRemoved = true;
      }
      return { renderMs: rendered - started, writeMs: performance.now() - rendered, lines: input ? input.split('\n').length - 1 : 0 };
    },
    async rulesLost(): Promise<boolean> {
      // The base chain that judges ingress: gone with the table (nft flush ruleset, a restart of the node's nftables).
      return (await exec('nft', ['list', 'chain', NFT_FAMILY, NFT_TABLE, BASE_CANARY])).code !== 0;
    },
  };
}
