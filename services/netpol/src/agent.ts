/**
 * The NetworkPolicy agent of one node (kemu-netpol).
 *
 * Its own process beside the kubelet and kube-proxy, as kube-router's and kube-network-policies' agents are, rather
 * than a flag of kube-proxy: policy enforcement watches other objects (policies, every pod, namespaces) than
 * kube-proxy (Services, EndpointSlices), syncs on its own clock, and can be killed, restarted or left out of a node
 * without touching Service routing — which is how the real ones are deployed and broken. The two compose through
 * the kernel only: kube-proxy's DNAT runs in nat PREROUTING, this agent's chains in filter FORWARD/INPUT see the
 * translated packet, so Service traffic is judged against the real backend pod.
 *
 * Informers over the api-server's gRPC watch streams (the node's identity, as kube-proxy), one plan and one write
 * per sync of what changed (everything at first, after a failure, hourly, or when the periodic check finds rules
 * lost, as kube-proxy decides it), changes coalesced by kube-proxy's sync runner. The
 * write follows kube-proxy's mode (backend.ts): an nftables table of the agent's own in nftables mode
 * (nft-backend.ts), the filter table through `iptables-restore --noflush` in the others (iptables-backend.ts).
 * A policy part the agent
 * cannot program (an IPv6 ipBlock) becomes a Warning event on the policy and is skipped; the rest is programmed.
 * The rules outlive the process (a restarted agent takes over its own chains), so enforcement never lapses.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { pino, type Logger } from 'pino';
import type { KubeObject } from '@kemu/api';
import { ApiClient, EventRecorder, InformerFactory, exposition, newMetricsRegistry, prom, startWhenListening, type Informer } from '@kemu/client';
import { SyncRunner, spawnExec, wantsFullSync, type Exec, type SyncReason } from '@kemu/proxy';
import { backendForProxyMode, type PolicyBackend } from './backend.js';
import { iptablesBackend } from './iptables-backend.js';
import { PlanMemo, planNode } from './model.js';
import { nftablesBackend } from './nft-backend.js';

export interface AgentOptions {
  /** host:port of the api-server's gRPC listener. */
  apiserver: string;
  caFile: string;
  tokenFile: string;
  nodeName: string;
  /** kube-proxy's mode on this node: nftables writes an nftables table, every other mode iptables. Default iptables. */
  proxyMode?: string;
  /** Least time between two syncs. Default 100 ms: a change is enforced well within a second. */
  minSyncPeriodMs?: number;
  /** A sync at least this often (and the jumps re-checked). Default 30 s. */
  syncPeriodMs?: number;
  /** /healthz and /metrics (0 picks one). Default 20244. */
  port?: number;
  bindAddress?: string;
  exec?: Exec;
}

export interface RunningAgent {
  port: number;
  /** Resolves after the next successful sync (tests). */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

const RESOURCES = {
  policies: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
  pods: { version: 'v1', resource: 'pods' },
  namespaces: { version: 'v1', resource: 'namespaces' },
};

/** What of a pod the rules depend on: a status heartbeat that changes none of it asks for no sync. */
const podFacts = (p: KubeObject): string => {
  const pod = p as Pod;
  return JSON.stringify([
    pod.status?.podIP,
    pod.status?.phase,
    pod.spec?.nodeName,
    pod.spec?.hostNetwork,
    pod.metadata?.labels,
    pod.spec?.containers?.map((c) => c.ports),
  ]);
};

export async function start(o: AgentOptions, log: Logger = pino({ name: 'kemu-netpol' })): Promise<RunningAgent> {
  const exec = o.exec ?? spawnExec;
  const registry = newMetricsRegistry();
  const registers = [registry];
  const syncDuration = new prom.Histogram({
    name: 'kemu_netpol_sync_duration_seconds',
    help: 'Time to plan and write the node policy rules',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const isolated = new prom.Gauge({
    name: 'kemu_netpol_isolated_pods',
    help: 'Local pods isolated by a policy, per direction',
    labelNames: ['direction'],
    registers,
  });
  // Where a sync's time goes: waiting (the first change not yet served → the sync starts: the runner's minimum
  // interval and a sync in progress), the plan, rendering the tool's input, and the tool itself.
  const phases = new prom.Histogram({
    name: 'kemu_netpol_sync_phase_seconds',
    help: 'Time of each phase of a sync: wait (first change seen to sync start), plan, render, write',
    labelNames: ['phase'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const failures = new prom.Counter({ name: 'kemu_netpol_sync_failures_total', help: 'Writes of the node rules that failed', registers });

  const client = new ApiClient({ address: o.apiserver, ca: readFileSync(o.caFile), token: readFileSync(o.tokenFile, 'utf8').trim() });
  const recorder = new EventRecorder(client, { component: 'kemu-netpol', host: o.nodeName });
  const informers = new InformerFactory(client, (err) => log.warn({ err }, 'informer error'));
  const policies = informers.for(RESOURCES.policies);
  const pods = informers.for(RESOURCES.pods);
  const namespaces = informers.for(RESOURCES.namespaces);

  const backend: PolicyBackend = backendForProxyMode(o.proxyMode) === 'nftables' ? nftablesBackend(exec) : await iptablesBackend(exec);
  let firstChange: number | undefined;
  // Carried from plan to plan until a pod or namespace changes: a policy change plans that policy alone.
  let memo = new PlanMemo();
  let lastFull = Number.NEGATIVE_INFINITY;
  const reported = new Set<string>();
  let waiters: (() => void)[] = [];

  const sync = async (reason: SyncReason): Promise<void> => {
    const started = performance.now();
    if (firstChange !== undefined) phases.observe({ phase: 'wait' }, (started - firstChange) / 1000);
    firstChange = undefined;
    try {
      const plan = planNode(policies.lister.list() as NetworkPolicy[], pods.lister.list() as Pod[], namespaces.lister.list() as Namespace[], o.nodeName, memo);
      const planMs = performance.now() - started;
      // As kube-proxy: everything is rewritten at first, after a failure, hourly, or when the periodic check finds
      // rules lost; else only what changed (a full write of thousands of rules would hold up the changes behind it).
      const full = wantsFullSync(reason, Date.now() - lastFull, reason === 'periodic' && (await backend.rulesLost()));
      const t = await backend.write(plan, full);
      if (full) lastFull = Date.now();
      phases.observe({ phase: 'plan' }, planMs / 1000);
      phases.observe({ phase: 'render' }, t.renderMs / 1000);
      if (t.lines > 0) phases.observe({ phase: 'write' }, t.writeMs / 1000);
      for (const d of ['ingress', 'egress'] as const) isolated.set({ direction: d }, plan.pods.filter((p) => p.direction === d).length);
      const ms = performance.now() - started;
      syncDuration.observe(ms / 1000);
      log.debug(
        { pods: plan.pods.length, policies: plan.policies.length, lines: t.lines, full, planMs, renderMs: t.renderMs, writeMs: t.writeMs, ms },
        'synced policy rules',
      );
      for (const p of plan.problems) reportProblem(p.policy, p.message);
      waiters.splice(0).forEach((w) => w());
    } catch (err) {
      // A failed restore changes nothing in the kernel: the previous rules keep enforcing until a retry works.
      failures.inc();
      log.error({ err }, 'sync of policy rules failed');
      runner.retryAfter(1000);
    }
  };

  const reportProblem = (policy: string, message: string): void => {
    if (reported.has(policy + message)) return;
    reported.add(policy + message);
    const [namespace, name] = policy.split('/');
    const obj = policies.lister.getNamed(namespace, name);
    log.warn({ policy, message }, 'policy part not programmed');
    if (obj) void recorder.event({ ...obj, apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' }, 'Warning', 'PolicyNotProgrammed', message);
  };

  const runner = new SyncRunner(sync, { minIntervalMs: o.minSyncPeriodMs ?? 100, maxIntervalMs: o.syncPeriodMs ?? 30_000, burst: 2 });
  const changed = (): void => {
    firstChange ??= performance.now();
    runner.run();
  };
  const onChange = (inf: Informer, differs: (a: KubeObject, b: KubeObject) => boolean, fresh: boolean) => {
    const change = (): void => {
      if (fresh) memo = new PlanMemo();
      changed();
    };
    inf.on({ add: change, update: (a, b) => differs(a, b) && change(), delete: change });
  };
  onChange(policies, (a, b) => JSON.stringify(a.spec) !== JSON.stringify(b.spec), false);
  onChange(pods, (a, b) => podFacts(a) !== podFacts(b), true);
  onChange(namespaces, (a, b) => JSON.stringify(a.metadata.labels) !== JSON.stringify(b.metadata.labels), true);

  let healthy = false;
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(healthy ? 200 : 503);
      res.end(healthy ? 'ok' : 'caches not synced');
    } else if (req.url === '/metrics') {
      exposition(registry).then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'Content-Type': contentType });
          res.end(body);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 20244, o.bindAddress ?? '0.0.0.0', () => resolve((server.address() as AddressInfo).port));
  });

  // Nothing is programmed from a partial cache: a policy seen before its pods would cut them off.
  const starting = startWhenListening(
    o.apiserver,
    () => informers.start(),
    () => {
      healthy = true;
      log.info(
        { policies: policies.lister.size, pods: pods.lister.size, namespaces: namespaces.lister.size, backend: backend.name },
        'caches synced; programming the node',
      );
      runner.start();
    },
    () => log.info({ apiserver: o.apiserver }, 'waiting for the api-server'),
  );

  return {
    port,
    synced: () => new Promise((r) => waiters.push(r)),
    async stop() {
      starting.cancel();
      informers.stop();
      await runner.stop();
      waiters = [];
      server.close();
      client.close();
    },
  };
}
