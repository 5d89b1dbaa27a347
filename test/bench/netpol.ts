/**
 * NetworkPolicy programming latency on a cluster from `kemu up` (3 nodes): 300 real pause pods (each a network
 * namespace with a veth on its node's bridge and a process) in 10 groups of 30, then 100 NetworkPolicies created
 * one after another, policy i isolating group i mod 10 for ingress from group i+1 on one port. For every policy:
 * from the create request to the moment the kernel of every node that runs a selected pod holds the jump from a
 * pod chain to the policy's chain — seen by `nft monitor new rules` in each node's network namespace (the agent's
 * iptables-nft rules are nf_tables rules too). So what is timed is the api-server, the watch and each node's agent,
 * its plan and its write, as the number of policies (and so of rules) grows to 100.
 * The proxy mode (KEMU_BENCH_PROXY_MODE, default iptables) picks the agent's backend: nftables writes the agent's
 * own nftables table, every other mode iptables. The agent's own sync durations and where their time went
 * (kemu_netpol_sync_phase_seconds: wait, plan, render, write) are printed alongside.
 * Run: npm run bench:netpol   (as root; about 10 minutes)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '@kemu/client';
import { backendForProxyMode } from '../../services/netpol/src/backend.js';
import { NFT_FAMILY, NFT_TABLE, nftPolicyChain } from '../../services/netpol/src/nft.js';
import { policyChain } from '../../services/netpol/src/rules.js';
import { withBenchHome } from './cluster.js';

const PROJECT = process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench-netpol';
const SUBNET = process.env.KEMU_BENCH_SUBNET ?? '172.26';
const NODES = 3;
const GROUPS = 10;
const PODS_PER_GROUP = 30;
const POLICIES = 100;
const NS = 'bench-netpol';
const MODE = process.env.KEMU_BENCH_PROXY_MODE ?? 'iptables';
const NFT = backendForProxyMode(MODE) === 'nftables';
const PHASES = ['wait', 'plan', 'render', 'write'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

/** `nft monitor new rules` in one node's namespace: when a jump to each chain was first added. */
class JumpMonitor {
  private readonly proc: ChildProcess;
  private readonly seen = new Map<string, number>();
  constructor(netns: string) {
    this.proc = spawn('ip', ['netns', 'exec', netns, 'nft', 'monitor', 'new', 'rules'], { stdio: ['ignore', 'pipe', 'ignore'] });
    if (!this.proc.stdout) throw new Error('nft monitor has no stdout');
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const m = / jump ([^\s;]+)/.exec(line);
      if (m && !this.seen.has(m[1])) this.seen.set(m[1], Date.now());
    });
  }
  at(chain: string): number | undefined {
    return this.seen.get(chain);
  }
  stop(): void {
    this.proc.kill();
  }
}

interface Sums {
  sum: number;
  count: number;
}

/** The agent's sync duration and its phases (sum and count of each histogram) on one node. */
async function syncDurations(nodeIP: string): Promise<Record<'sync' | (typeof PHASES)[number], Sums>> {
  const text = await (await fetch(`http://${nodeIP}:20244/metrics`)).text();
  const v = (name: string, labels: string, s: string) => Number(new RegExp(`^${name}_${s}${labels} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  const sums = (name: string, labels = ''): Sums => ({ sum: v(name, labels, 'sum'), count: v(name, labels, 'count') });
  const phases = Object.fromEntries(PHASES.map((p) => [p, sums('kemu_netpol_sync_phase_seconds', `\\{phase="${p}"\\}`)]));
  return { sync: sums('kemu_netpol_sync_duration_seconds'), ...(phases as Record<(typeof PHASES)[number], Sums>) };
}

const mean = (s: Sums): string => `${((s.sum / Math.max(1, s.count)) * 1000).toFixed(1)} ms`;

/** The agent's rules on one node at the end: its iptables rules, or the rules of its nftables table. */
async function ruleCount(netns: string): Promise<number> {
  const cmd = NFT ? ['nft', '-j', 'list', 'table', NFT_FAMILY, NFT_TABLE] : ['iptables-save', '-t', 'filter'];
  const p = spawn('ip', ['netns', 'exec', netns, ...cmd], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  for await (const chunk of p.stdout) out += String(chunk);
  if (!NFT) return out.split('\n').filter((l) => l.startsWith('-A KEMU-')).length;
  return (JSON.parse(out) as { nftables: Record<string, unknown>[] }).nftables.filter((o) => 'rule' in o).length;
}

async function main(state: string): Promise<void> {
  const c = new ApiClient({
    address: `${SUBNET}.0.3:6444`,
    ca: readFileSync(join(state, 'pki', 'ca.crt')),
    token: readFileSync(join(state, 'pki', 'admin.token'), 'utf8').trim(),
  });
  const monitors = Array.from({ length: NODES }, (_, i) => new JumpMonitor(`${PROJECT}-node-${i + 1}`));
  const nodeIPs = Array.from({ length: NODES }, (_, i) => `${SUBNET}.1.${i + 1}`);
  try {
    await c.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const podsStarted = Date.now();
    for (let g = 0; g < GROUPS; g++) {
      await c.create(
        { group: 'apps', version: 'v1', resource: 'deployments', namespace: NS },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: `g${g}` },
          spec: {
            replicas: PODS_PER_GROUP,
            selector: { matchLabels: { group: `g${g}` } },
            template: {
              metadata: { labels: { group: `g${g}` } },
              spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10', ports: [{ name: 'http', containerPort: 8080 }] }] },
            },
          },
        },
      );
    }
    let pods: Pod[] = [];
    for (const deadline = Date.now() + 600_000; ; await sleep(1000)) {
      pods = ((await c.list({ version: 'v1', resource: 'pods', namespace: NS })).items as Pod[]).filter((p) => p.status?.podIP && p.status.phase === 'Running');
      if (pods.length >= GROUPS * PODS_PER_GROUP) break;
      if (Date.now() > deadline) throw new Error(`only ${pods.length} pods running after 10 minutes`);
    }
    console.log(`${pods.length} pods running on ${NODES} nodes ${((Date.now() - podsStarted) / 1000).toFixed(0)} s after the first Deployment`);
    const nodesOf = (group: string) =>
      new Set(pods.filter((p) => p.metadata?.labels?.group === group).map((p) => Number(p.spec?.nodeName?.replace('node-', '')) - 1));

    const before = await Promise.all(nodeIPs.map(syncDurations));
    const latencies: number[] = [];
    let missed = 0;
    for (let i = 0; i < POLICIES; i++) {
      const name = `np-${i}`;
      const group = `g${i % GROUPS}`;
      const chain = NFT ? nftPolicyChain(`${NS}/${name}`, 'ingress') : policyChain(`${NS}/${name}`, 'ingress');
      const sent = Date.now();
      await c.create(
        { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', namespace: NS },
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name },
          spec: {
            podSelector: { matchLabels: { group } },
            ingress: [{ from: [{ podSelector: { matchLabels: { group: `g${(i + 1) % GROUPS}` } } }], ports: [{ port: 8000 + i, protocol: 'TCP' }] }],
          },
        },
      );
      const wanted = [...nodesOf(group)];
      let done: number | undefined;
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
        const at = wanted.map((n) => monitors[n].at(chain));
        if (at.every((t) => t !== undefined)) {
          done = Math.max(...at.map((t) => t ?? 0));
          break;
        }
      }
      if (done === undefined) missed++;
      else latencies.push(done - sent);
      // Changes arrive one at a time, each after the previous was enforced and a short pause.
      await sleep(100 + Math.floor(Math.random() * 200));
    }
    const after = await Promise.all(nodeIPs.map(syncDurations));
    const delta = (k: keyof (typeof after)[number]): Sums =>
      after.reduce((a, s, n) => ({ sum: a.sum + s[k].sum - before[n][k].sum, count: a.count + s[k].count - before[n][k].count }), { sum: 0, count: 0 });
    console.log(
      `${MODE} mode (${NFT ? 'nftables' : 'iptables'} agent), ${POLICIES} policies over ${pods.length} pods, change → enforced on all nodes: ` +
        `p50 ${q(latencies, 0.5)} ms, p90 ${q(latencies, 0.9)} ms, p99 ${q(latencies, 0.99)} ms, max ${Math.max(...latencies)} ms` +
        (missed ? `, ${missed} not within 10 s` : ''),
    );
    const syncs = delta('sync');
    console.log(
      `agent syncs meanwhile: ${syncs.count} on ${NODES} nodes, mean ${mean(syncs)}; per phase: ${PHASES.map((p) => `${p} ${mean(delta(p))}`).join(', ')}`,
    );
    console.log(
      `node-1 holds ${await ruleCount(`${PROJECT}-node-1`)} agent rules at the end; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    monitors.forEach((m) => m.stop());
    c.close();
  }
}

await withBenchHome(PROJECT, SUBNET, async ({ home, kemu }) => {
  kemu('up', '--nodes', String(NODES), '--proxy-mode', MODE);
  console.log(
    `load average at the start ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  await main(join(home, PROJECT));
});
