/**
 * hostPort: a container port published on the node's address, with the rules
 * CNI's portmap plugin writes (the plugin Kubernetes' bridge networks chain
 * for hostPort), in the node's namespace:
 * - nat PREROUTING and OUTPUT (to a local address) jump to CNI-HOSTPORT-DNAT,
 *   which sends each pod's ports to a chain of its own, CNI-DN-<hash>;
 * - CNI-DN-<hash> marks for masquerade what comes from the pod itself
 *   (hairpin) or from the node's loopback, then DNATs each port to the pod;
 * - CNI-HOSTPORT-SETMARK sets 0x2000, and CNI-HOSTPORT-MASQ (in POSTROUTING)
 *   masquerades what carries it.
 * The whole set is rewritten from the running pods with one
 * iptables-restore --noflush (the top-level jumps are inserted once), so a
 * pod's rules go when it does. Pure rule generation; `syncHostPorts` is the I/O.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Pod } from 'kubernetes-types/core/v1.js';

export interface HostPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  /** The node address the port is published on; empty or 0.0.0.0: every address. */
  hostIP?: string;
}

export interface PodPorts {
  /** The pod's uid (the chain name's hash and the comment's id, as portmap uses the container id). */
  id: string;
  /** namespace/name, for the comment. */
  name: string;
  podIP: string;
  ports: HostPortMapping[];
}

const MARK = '0x2000/0x2000';

/** The container ports a pod publishes on its node (hostPort set), as portmap receives them. Pure. */
export function publishedPorts(pod: Pod): HostPortMapping[] {
  return (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => (p.hostPort ?? 0) > 0)
      .map((p) => ({ hostPort: p.hostPort!, containerPort: p.containerPort, protocol: p.protocol ?? 'TCP', ...(p.hostIP ? { hostIP: p.hostIP } : {}) })),
  );
}

/** portmap's per-pod chain name: CNI-DN- and 17 characters of a hash of the id. */
export const podChain = (id: string) => `CNI-DN-${createHash('sha512').update(`kemu${id}`).digest('hex').slice(0, 17)}`;

/** The nat table's part (chains and rules) for these pods: iptables-restore input. Pure. */
export function hostPortRules(pods: readonly PodPorts[]): string {
  const withPorts = pods.filter((p) => p.ports.length > 0).sort((a, b) => a.id.localeCompare(b.id));
  const lines = ['*nat', ':CNI-HOSTPORT-DNAT - [0:0]', ':CNI-HOSTPORT-SETMARK - [0:0]', ':CNI-HOSTPORT-MASQ - [0:0]'];
  for (const p of withPorts) lines.push(`:${podChain(p.id)} - [0:0]`);
  lines.push(
    `-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark ${MARK}`,
    `-A CNI-HOSTPORT-MASQ -m mark --mark ${MARK} -j MASQUERADE`,
  );
  for (const p of withPorts) {
    const chain = podChain(p.id);
    const comment = `-m comment --comment "dnat name: \\"kemu\\" id: \\"${p.id}\\""`;
    for (const proto of [...new Set(p.ports.map((x) => x.protocol.toLowerCase()))]) {
      const ports = p.ports.filter((x) => x.protocol.toLowerCase() === proto).map((x) => x.hostPort);
      lines.push(`-A CNI-HOSTPORT-DNAT -p ${proto} ${comment} -m multiport --dports ${[...new Set(ports)].join(',')} -j ${chain}`);
    }
    for (const m of p.ports) {
      const proto = m.protocol.toLowerCase();
      const dst = m.hostIP && m.hostIP !== '0.0.0.0' ? `-d ${m.hostIP}/32 ` : '';
      const match = `${dst}-p ${proto} -m ${proto} --dport ${m.hostPort}`;
      lines.push(
        `-A ${chain} -s ${p.podIP}/32 ${match} -j CNI-HOSTPORT-SETMARK`,
        `-A ${chain} -s 127.0.0.1/32 ${match} -j CNI-HOSTPORT-SETMARK`,
        `-A ${chain} ${match} -j DNAT --to-destination ${p.podIP}:${m.containerPort}`,
      );
    }
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The chains a previous sync made that no running pod needs any more (to be flushed and deleted). Pure. */
export function staleChains(existing: readonly string[], pods: readonly PodPorts[]): string[] {
  const keep = new Set(pods.filter((p) => p.ports.length > 0).map((p) => podChain(p.id)));
  return existing.filter((c) => c.startsWith('CNI-DN-') && !keep.has(c));
}

function iptables(netns: string, args: string[], input?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', netns, ...args], { input, encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '').trim() };
}

/**
 * Program the node's namespace for these pods: the top-level jumps (once), every pod's chain rewritten, and the
 * chains of pods gone deleted, in one iptables-restore.
 */
export function syncHostPorts(netns: string, pods: readonly PodPorts[]): void {
  const jumps: [string, string[]][] = [
    ['PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT']],
    ['OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT']],
    ['POSTROUTING', ['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', 'CNI-HOSTPORT-MASQ']],
  ];
  const saved = iptables(netns, ['iptables-save', '-t', 'nat']).out;
  const existing = [...saved.matchAll(/^:(CNI-DN-\S+)/gm)].map((m) => m[1]);
  const stale = staleChains(existing, pods);
  let input = hostPortRules(pods);
  if (stale.length) {
    // Deleting a chain needs it empty and unreferenced: the rewrite above drops the references, flush and delete follow.
    const body = input.replace(/COMMIT\n$/, '');
    input = body + stale.map((c) => `:${c} - [0:0]`).join('\n') + '\n' + stale.map((c) => `-X ${c}`).join('\n') + '\nCOMMIT\n';
  }
  const r = iptables(netns, ['iptables-restore', '-w', '--noflush'], input);
  if (!r.ok) throw new Error(`iptables-restore (hostPort rules): ${r.err}`);
  for (const [chain, rule] of jumps) {
    if (!iptables(netns, ['iptables', '-w', '-t', 'nat', '-C', chain, ...rule]).ok) {
      const added = iptables(netns, ['iptables', '-w', '-t', 'nat', '-A', chain, ...rule]);
      if (!added.ok) throw new Error(`iptables -A ${chain} (hostPort): ${added.err}`);
    }
  }
}
