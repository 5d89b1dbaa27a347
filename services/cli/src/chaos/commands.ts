/**
 * `kemu chaos VERB TARGET [--watch]` and `kemu chaos run SCENARIO.yaml`: break
 * the cluster on purpose, as Docker would break a container, and (with
 * --watch) follow its recovery to a verdict. The verbs come from a driver
 * (namespace.ts today); what a target means and what recovery to expect is
 * decided here, the same for every driver.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { parseDuration } from '@kemu/api';
import { adminApi, adminRequest } from '../admin-api.js';
import type { Cluster } from '../cluster.js';
import { KemuError } from '../errors.js';
import { LEADER_LEASES, isComponent, type ChaosDriver } from './driver.js';
import { NamespaceDriver } from './namespace-driver.js';
import { DEFAULT_TIMEOUT_MS, VERBS, parseScenario, type Verb } from './scenario.js';
import type { Expectation } from './timeline.js';
import { RecoveryWatch, type Report } from './watch.js';

/** Verbs that take a target away; on an elected component they mean its leader. */
const TAKES_AWAY: readonly Verb[] = ['kill', 'stop', 'pause', 'partition', 'restart'];

interface Resolved {
  target: string;
  /** The leader's Lease and holder when the target is the leader of an elected component. */
  leader?: { lease: string; was: string };
}

/** The holder of a component's Lease, and the replica whose process it is. */
async function leaderOf(cluster: Cluster, driver: ChaosDriver, component: Parameters<ChaosDriver['replicas']>[0]) {
  const lease = LEADER_LEASES[component];
  const api = adminApi(cluster.kubeconfigPath, join(cluster.state, 'pki'));
  if (!lease || !api) return undefined;
  const r = await adminRequest(api, 'GET', `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${lease}`);
  if (r.status !== 200) throw new KemuError(`no ${lease} Lease: is any ${component} running?`);
  const holder = (JSON.parse(r.body) as Lease).spec?.holderIdentity ?? '';
  const replica = holder ? driver.replicaOf(holder, component) : undefined;
  if (!replica) throw new KemuError(`the ${lease} Lease is held by "${holder}", which is none of ${driver.replicas(component).join(', ')}`);
  return { lease, holder, replica };
}

/** What a name means for a verb: `scheduler` is its leader for the verbs that take something away. */
async function resolve(cluster: Cluster, driver: ChaosDriver, verb: Verb, name: string, replica?: string): Promise<Resolved> {
  if (replica) return { target: replica };
  if (isComponent(name) && LEADER_LEASES[name] && TAKES_AWAY.includes(verb)) {
    const l = await leaderOf(cluster, driver, name);
    if (l) return { target: l.replica, leader: { lease: l.lease, was: l.holder } };
  }
  return { target: name };
}

/** What recovery looks like after `verb` on `r`. Pure. */
export function expectationOf(verb: Verb, r: Resolved, nodes: string[]): Expectation {
  const node = nodes.includes(r.target) ? [r.target] : [];
  const down = verb === 'kill' || verb === 'stop' || verb === 'pause' || verb === 'partition';
  return { down: down ? node : [], up: down ? [] : node, ...(r.leader ? { leader: r.leader } : {}) };
}

async function act(driver: ChaosDriver, verb: Verb, target: string): Promise<void> {
  if (verb === 'restart') {
    // docker restart: a stop (SIGTERM, then SIGKILL after the grace) and a start.
    await driver.stop(target);
    await driver.start(target);
    return;
  }
  await driver[verb](target);
}

export interface RunOptions {
  watch?: boolean;
  json?: boolean;
  timeoutMs?: number;
  replica?: string;
}

/** One verb, watched or not; the report when watched. */
export async function runVerb(
  cluster: Cluster,
  driver: ChaosDriver,
  verb: Verb,
  name: string,
  o: RunOptions,
  log: (l: string) => void,
): Promise<Report | undefined> {
  const r = await resolve(cluster, driver, verb, name, o.replica);
  const { nodes } = driver.targets();
  const e = expectationOf(verb, r, nodes);
  const say = (l: string) => {
    if (!o.json) log(l);
  };
  // The probe calls from a node the fault leaves alone.
  const probeNode = nodes.find((n) => n !== r.target);
  const watch = o.watch ? await RecoveryWatch.begin(cluster, probeNode, say) : undefined;
  watch?.fault();
  await act(driver, verb, r.target);
  say(`${verb} ${r.target}${r.leader && r.target !== name ? ` (the leading ${name})` : ''}: done`);
  return watch?.until(e, o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
}

/** Register `kemu chaos ...` on the program; `cluster()` makes the Cluster from the global options. */
export function registerChaos(program: Command, cluster: () => Cluster): void {
  const chaos = program.command('chaos').description('break the cluster on purpose (as docker kill/stop/pause would) and watch it recover');
  const driver = () => {
    const c = cluster();
    if (!c.record) throw new KemuError(`No cluster "${c.project}" here: use kemu up`);
    return { c, d: new NamespaceDriver(c) };
  };
  const what: Record<Verb, string> = {
    kill: 'SIGKILL every process of a node (pods included) or component, at once; it stays down (docker kill)',
    stop: 'stop a node or component gracefully: SIGTERM, SIGKILL after 10 s (docker stop)',
    start: 'start a killed or stopped node or component again (docker start)',
    pause: 'freeze every process of a node or component (docker pause)',
    resume: 'let a paused node or component run again (docker unpause)',
    partition: 'cut a node off the cluster network while it keeps running (docker network disconnect)',
    heal: 'connect a partitioned node again',
    restart: 'stop and start a component (apiserver, etcd, scheduler, controller-manager: the leader unless --replica)',
  };
  for (const verb of VERBS) {
    chaos
      .command(`${verb} <target>`)
      .description(what[verb])
      .option('--watch', 'print the recovery timeline until the cluster is whole again, then a verdict')
      .option('--json', 'with --watch: print the figures as JSON')
      .option('--timeout <duration>', 'with --watch: give up after this long', '60s')
      .option('--replica <service>', 'this replica rather than the leader (scheduler-2, controller-manager, ...)')
      .action(async (target: string, o: { watch?: boolean; json?: boolean; timeout: string; replica?: string }) => {
        const { c, d } = driver();
        const report = await runVerb(c, d, verb, target, { ...o, timeoutMs: parseDuration(o.timeout) }, (l) => console.log(l));
        if (report && o.json) console.log(JSON.stringify(report, null, 2));
        if (report && !report.verdict.recovered) process.exitCode = 2;
      });
  }
  chaos
    .command('run <scenario>')
    .description('run a scenario file: steps of verbs and waits (see README)')
    .option('--json', 'print the reports of the watched steps as JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const { c, d } = driver();
      const reports: Report[] = [];
      for (const step of parseScenario(readFileSync(file, 'utf8'))) {
        if ('wait' in step) {
          if (!o.json) console.log(`wait ${step.wait / 1000}s`);
          await new Promise((r) => setTimeout(r, step.wait));
          continue;
        }
        const report = await runVerb(c, d, step.verb, step.target, { watch: step.watch, json: o.json, timeoutMs: step.timeoutMs }, (l) => console.log(l));
        if (report) reports.push(report);
        if (report && !report.verdict.recovered) process.exitCode = 2;
      }
      if (o.json) console.log(JSON.stringify(reports, null, 2));
    });
}
