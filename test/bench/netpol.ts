/**
 * NetworkPolicy programming latency on a cluster from `kemu up` (3 nodes): 300 real pause pods (each a network
 * namespace with a veth on its node's bridge and a process) in 10 groups of 30, then 100 NetworkPolicies created
 * one after another, policy i isolating group i mod 10 for ingress from group i+1 on one port. For every policy:
 * from the create request to the moment the kernel of every node that runs a selected pod holds the jump from a
 * pod chain to the policy's chain — seen by `nft monitor new rules` in each node's network namespace (the agent's
 * iptables-nft rules are nf_tables rules). So what is timed is the api-server, the watch and each node's agent,
 * its plan and its iptables-restore, as the number of policies (and so of rules) grows to 100.
 * The agent's own sync durations (kemu_netpol_sync_duration_seconds) are printed alongside.
 * Run: npm run bench:netpol   (as root; about 4 minutes)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '@kemu/client';
import { policyChain } from '../../services/netpol/src/rules.js';
import { withCluster, type BenchCluster } from './cluster.js';

const PROJECT = process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench-netpol';
const SUBNET = process.env.KEMU_BENCH_SUBNET ?? '172.26';
const NODES = 3;
const GROUPS = 10;
const PODS_PER_GROUP = 30;
const POLICIES = 100;
const NS = 'bench-netpol';

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
      const m = / jump (KEMU-NP-P[IE]-[0-9a-f]+)/.exec(line);
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

async function syncDurations(nodeIP: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://${nodeIP}:20244/metrics`)).text();
  const v = (s: string) => Number(new RegExp(`^kemu_netpol_sync_duration_seconds_${s} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  return { sum: v('sum'), count: v('count') };
}

async function main({ state }: BenchCluster): Promise<void> {
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
      const chain = policyChain(`${NS}/${name}`, 'ingress');
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
    const syncs = after.reduce((a, s, n) => ({ sum: a.sum + s.sum - before[n].sum, count: a.count + s.count - before[n].count }), { sum: 0, count: 0 });
    console.log(
      `${POLICIES} policies over ${pods.length} pods, change → enforced on all nodes: p50 ${q(latencies, 0.5)} ms, p99 ${q(latencies, 0.99)} ms, max ${Math.max(...latencies)} ms` +
        (missed ? `, ${missed} not within 10 s` : ''),
    );
    console.log(`agent syncs meanwhile: ${syncs.count} on ${NODES} nodes, mean ${((syncs.sum / Math.max(1, syncs.count)) * 1000).toFixed(0)} ms`);
    const save = spawn('ip', ['netns', 'exec', `${PROJECT}-node-1`, 'iptables-save', '-t', 'filter'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let rules = 0;
    for await (const chunk of save.stdout)
      rules += String(chunk)
        .split('\n')
        .filter((l) => l.startsWith('-A KEMU-')).length;
    console.log(`node-1 holds ${rules} agent rules at the end`);
  } finally {
    monitors.forEach((m) => m.stop());
    c.close();
  }
}

await withCluster(PROJECT, SUBNET, main, NODES);
