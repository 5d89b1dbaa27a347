/**
 * The iptables backend: the filter table's KEMU-NETPOL chains (rules.ts), one `iptables-restore --noflush` per write
 * of the chains that changed, and the jumps from FORWARD and INPUT kept first in their chains.
 */
import { ToolError, type Exec } from '@kemu/proxy';
import type { PolicyBackend, WriteTimes } from './backend.js';
import type { NodePlan } from './model.js';
import { NFT_FAMILY, NFT_TABLE } from './nft.js';
import { TOP_CHAIN, buildRules, changedRules, ownChains } from './rules.js';

/** The chains that send traffic to the agent's; first in their chains. */
const JUMPS = ['FORWARD', 'INPUT'];
const JUMP_COMMENT = 'kemu network policies';
const JUMP_RULE = ['-m', 'comment', '--comment', JUMP_COMMENT, '-j', TOP_CHAIN];

export async function iptablesBackend(exec: Exec): Promise<PolicyBackend> {
  // The chains the kernel holds from us, with their rules: at first whatever an earlier run left (contents unknown,
  // so all rewritten), then what the last write put there. A full write forgets it and writes everything again.
  let written = new Map<string, string>(ownChains((await exec('iptables-save', ['-t', 'filter'])).stdout).map((c) => [c, '?']));
  let jumpsChecked = false;
  let otherRemoved = false;
  return {
    name: 'iptables',
    async write(plan: NodePlan, full: boolean): Promise<WriteTimes> {
      const started = performance.now();
      const rules = buildRules(plan, written.keys());
      const input = full ? rules.text : changedRules(rules, written);
      const rendered = performance.now();
      if (input) {
        const r = await exec('iptables-restore', ['-w', '--noflush'], input);
        if (r.code !== 0) throw new ToolError('iptables-restore -w --noflush', r.code, r.stderr);
      }
      written = rules.contents;
      if (!jumpsChecked) {
        await ensureJumps(exec);
        jumpsChecked = true;
      }
      if (!otherRemoved) {
        // The node ran in nftables mode before (kube-proxy's mode switched): the agent's table from then goes, once
        // these rules enforce. No table is no error.
        await exec('nft', ['delete', 'table', NFT_FAMILY, NFT_TABLE]);
        otherRemoved = true;
      }
      return { renderMs: rendered - started, writeMs: performance.now() - rendered, lines: input ? input.split('\n').length : 0 };
    },
    async rulesLost(): Promise<boolean> {
      await ensureJumps(exec);
      return (await exec('iptables', ['-w', '-t', 'filter', '-S', TOP_CHAIN, '1'])).code !== 0;
    },
  };
}

/**
 * Keep the jumps to KEMU-NETPOL first in FORWARD and INPUT. kube-proxy only checks that its own jumps exist, so once
 * ours is first it stays first; before its chains, a NodePort connection kube-proxy marks for masquerade is judged
 * too rather than accepted by KUBE-FORWARD.
 */
async function ensureJumps(exec: Exec): Promise<void> {
  for (const chain of JUMPS) {
    const first = await exec('iptables', ['-w', '-t', 'filter', '-S', chain, '1']);
    if (first.code === 0 && first.stdout.includes(`-j ${TOP_CHAIN}`)) continue;
    await removeJumps(exec, chain);
    const r = await exec('iptables', ['-w', '-t', 'filter', '-I', chain, '1', ...JUMP_RULE]);
    if (r.code !== 0) throw new ToolError(`iptables -I ${chain}`, r.code, r.stderr);
  }
}

async function removeJumps(exec: Exec, chain: string): Promise<void> {
  while ((await exec('iptables', ['-w', '-t', 'filter', '-D', chain, ...JUMP_RULE])).code === 0);
}

/**
 * Remove what the iptables backend wrote (the jumps, KEMU-NETPOL and every KEMU-NP- chain), when the node now runs the
 * nftables one: stale iptables rules would go on dropping what the new table allows. Returns whether there was any.
 */
export async function removeIptablesRules(exec: Exec): Promise<boolean> {
  const save = await exec('iptables-save', ['-t', 'filter']);
  if (save.code !== 0) return false; // no iptables on this node: nothing of ours either
  const chains = [...(new RegExp(`^:${TOP_CHAIN} `, 'm').test(save.stdout) ? [TOP_CHAIN] : []), ...ownChains(save.stdout)];
  if (chains.length === 0) return false;
  for (const chain of JUMPS) await removeJumps(exec, chain);
  // Declaring a chain flushes it, so none refers to another when they are deleted.
  const input = ['*filter', ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
  const r = await exec('iptables-restore', ['-w', '--noflush'], input);
  if (r.code !== 0) throw new ToolError('iptables-restore -w --noflush', r.code, r.stderr);
  return true;
}
