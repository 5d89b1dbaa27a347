/**
 * `--watch`: what the cluster does after a fault, seen from outside. Before the
 * fault, a probe starts calling every Service from a node's network namespace
 * and a first snapshot is taken; after it, the api-server's lists are read
 * every 250 ms into snapshots, each new milestone is printed as it is seen,
 * and the watch ends when the verdict says recovered, or at the timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ServiceList } from 'kubernetes-types/core/v1.js';
import { adminApi, adminRequest, type AdminApi } from '../admin-api.js';
import type { Cluster } from '../cluster.js';
import { KemuError } from '../errors.js';
import { serviceNs } from '../netns.js';
import { CLI_DIR } from '../paths.js';
import { toSnapshot, type ClusterLists } from './snapshot.js';
import { milestones, timelineLines, verdict, type Expectation, type Milestones, type ProbeCount, type Snapshot, type Verdict } from './timeline.js';

const POLL_MS = 250;
const PROBE = join(CLI_DIR, 'chaos', 'probe-main.js');

export interface Report {
  expectation: Expectation;
  milestones: Milestones;
  verdict: Verdict;
  probes: ProbeCount[];
}

const PATHS: Record<keyof ClusterLists, string> = {
  nodes: '/api/v1/nodes',
  pods: '/api/v1/pods',
  slices: '/apis/discovery.k8s.io/v1/endpointslices',
  replicasets: '/apis/apps/v1/replicasets',
  leases: '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases',
};

/** One read of every list; undefined while the api-server does not answer (it may be the component restarted). */
async function lists(api: AdminApi): Promise<ClusterLists | undefined> {
  try {
    const entries = await Promise.all(
      Object.entries(PATHS).map(async ([k, path]) => {
        const r = await adminRequest(api, 'GET', path);
        if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
        return [k, JSON.parse(r.body) as unknown] as const;
      }),
    );
    return Object.fromEntries(entries) as unknown as ClusterLists;
  } catch {
    return undefined;
  }
}

/**
 * The Services a probe calls: those with a selector, a cluster IP and a ready endpoint (`served`), outside
 * kube-system; each by its first TCP port.
 */
async function probeTargets(api: AdminApi, served: ReadonlySet<string>): Promise<string[]> {
  const r = await adminRequest(api, 'GET', '/api/v1/services');
  if (r.status !== 200) return [];
  return (JSON.parse(r.body) as ServiceList).items.flatMap((s) => {
    const ip = s.spec?.clusterIP;
    const port = (s.spec?.ports ?? []).find((p) => (p.protocol ?? 'TCP') === 'TCP')?.port;
    const name = `${s.metadata?.namespace}/${s.metadata?.name}`;
    if (!s.spec?.selector || !ip || ip === 'None' || !port || s.metadata?.namespace === 'kube-system' || !served.has(name)) return [];
    return [`${name}=${ip}:${port}`];
  });
}

export class RecoveryWatch {
  private series: Snapshot[] = [];
  private probe?: ChildProcess;
  private counts = new Map<string, ProbeCount>();
  private t0 = 0;

  private constructor(
    private api: AdminApi,
    private log: (line: string) => void,
  ) {}

  /** Take the first snapshot and start the probe from `probeNode` (none: no probe), before the fault. */
  static async begin(cluster: Cluster, probeNode: string | undefined, log: (line: string) => void): Promise<RecoveryWatch> {
    const api = adminApi(cluster.kubeconfigPath, join(cluster.state, 'pki'));
    if (!api) throw new KemuError(`${cluster.kubeconfigPath} names no server`);
    const w = new RecoveryWatch(api, log);
    const first = await lists(api);
    if (!first) throw new KemuError('the api-server does not answer: nothing to watch');
    w.series.push(toSnapshot(0, first));
    if (probeNode) await w.startProbe(cluster, probeNode);
    return w;
  }

  private async startProbe(cluster: Cluster, node: string): Promise<void> {
    const served = new Set((this.series[0]?.endpoints ?? []).filter((e) => e.nodes.length).map((e) => e.service));
    const targets = await probeTargets(this.api, served);
    if (!targets.length) return;
    for (const t of targets) {
      const service = t.split('=')[0];
      this.counts.set(service, { service, sent: 0, failed: 0 });
    }
    this.probe = spawn('nsenter', [`--net=/run/netns/${serviceNs(cluster.project, node)}`, '--', process.execPath, PROBE, ...targets], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    createInterface({ input: this.probe.stdout! }).on('line', (line) => {
      const [service, result] = line.split(' ');
      const c = this.counts.get(service);
      if (!c) return;
      c.sent++;
      if (result !== 'ok') c.failed++;
    });
  }

  /** The fault happens now: times are counted from here. */
  fault(): void {
    this.t0 = Date.now();
  }

  /** Watch until recovered or `timeoutMs` after the fault; prints each milestone as it is first seen. */
  async until(e: Expectation, timeoutMs: number): Promise<Report> {
    const printed = new Set<string>();
    let v: Verdict = verdict(this.series, e);
    while (Date.now() - this.t0 < timeoutMs) {
      const l = await lists(this.api);
      if (l) this.series.push(toSnapshot(Date.now() - this.t0, l));
      const m = milestones(this.series, e);
      for (const line of timelineLines(m, e, [], { recovered: false, waiting: [] }).slice(0, -1)) {
        if (!printed.has(line)) this.log(line);
        printed.add(line);
      }
      v = verdict(this.series, e);
      if (v.recovered) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    this.probe?.kill('SIGTERM');
    const probes = [...this.counts.values()];
    const m = milestones(this.series, e);
    for (const line of timelineLines(m, e, probes, v).filter((l) => !printed.has(l))) this.log(line);
    return { expectation: e, milestones: m, verdict: v, probes };
  }
}
