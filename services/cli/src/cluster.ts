/**
 * `kemu up | down | stop | start | status`: the compose file run without
 * Docker. Each service becomes processes in a network namespace of its own
 * with the compose file's address; state (etcd data, certificates, logs,
 * pids) lives under one directory per cluster.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTime, isCidr } from '@kemu/api';
import { waitNodesReady } from './ready.js';
import { parseCompose, startOrder, type ComposeProject, type ComposeService } from './compose.js';
import { createNetwork, createServiceNs, destroyNetwork, haveCommand, isRoot, nsExists, serviceNs, bridgeNs, type NetworkPlan } from './netns.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ClusterOptions {
  /** Project name (compose's -p): prefixes every namespace. Default: the compose file's `name`. */
  name?: string;
  /** First two octets of the cluster network (KEMU_SUBNET). Default 172.28. */
  subnet?: string;
  composeFile?: string;
  home?: string;
  nodes?: number;
  /** The pod network backend: host-gw (default) or vxlan. */
  backend?: string;
  log?: (line: string) => void;
}

interface ClusterRecord {
  project: string;
  subnetPrefix: string;
  composeFile: string;
  services: string[];
  nodes: number;
  backend?: string;
  createdAt: string;
}

export type ServiceState = 'running' | 'exited' | 'completed';

export class KemuError extends Error {}

/**
 * The cluster network for `--subnet a.b` (KEMU_SUBNET): a.b.0.0/16, the
 * subnet the compose file builds from it. Refused here, by name, rather than
 * as a broken address deep in `ip` or the compose file.
 */
export function clusterNetwork(prefix: string): string {
  const cidr = `${prefix}.0.0/16`;
  if (!/^[0-9]+\.[0-9]+$/.test(prefix) || !isCidr(cidr)) throw new KemuError(`--subnet: "${prefix}" is not the first two octets of an IPv4 network (like 172.28)`);
  return cidr;
}

function stateRoot(o: ClusterOptions): string {
  return o.home ?? process.env.KEMU_HOME ?? join(homedir(), '.kemu');
}

export class Cluster {
  readonly project: string;
  readonly state: string;
  readonly composeFile: string;
  readonly subnetPrefix: string;
  private log: (line: string) => void;

  constructor(private opts: ClusterOptions = {}) {
    this.composeFile = opts.composeFile ?? join(REPO_ROOT, 'compose', 'docker-compose.yml');
    const rec = this.recordAt(join(stateRoot(opts), opts.name ?? process.env.KEMU_PROJECT ?? 'kemu'));
    this.project = opts.name ?? process.env.KEMU_PROJECT ?? 'kemu';
    this.subnetPrefix = opts.subnet ?? rec?.subnetPrefix ?? process.env.KEMU_SUBNET ?? '172.28';
    clusterNetwork(this.subnetPrefix);
    this.state = join(stateRoot(opts), this.project);
    this.log = opts.log ?? ((l) => console.log(l));
  }

  private recordAt(dir: string): ClusterRecord | undefined {
    const f = join(dir, 'cluster.json');
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as ClusterRecord) : undefined;
  }

  get record(): ClusterRecord | undefined {
    return this.recordAt(this.state);
  }

  get kubeconfigPath(): string {
    return join(this.state, 'kubeconfig');
  }

  compose(): ComposeProject {
    const nodes = this.opts.nodes ?? this.record?.nodes ?? 3;
    const env = { ...process.env, KEMU_ROOT: REPO_ROOT, KEMU_STATE: this.state, KEMU_SUBNET: this.subnetPrefix, KEMU_PROJECT: this.project, KEMU_NODES: String(nodes), KEMU_BACKEND: this.opts.backend ?? this.record?.backend ?? 'host-gw' };
    return parseCompose(readFileSync(this.composeFile, 'utf8'), env);
  }

  private plan(p: ComposeProject): NetworkPlan {
    return { project: this.project, subnet: p.subnet, gateway: p.gateway };
  }

  private pidFile(svc: string): string {
    return join(this.state, 'pids', `${svc}.pid`);
  }

  private pidOf(svc: string): number | undefined {
    const f = this.pidFile(svc);
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  }

  private alive(pid: number | undefined): boolean {
    return isAlive(pid);
  }

  serviceState(svc: ComposeService): ServiceState {
    if (svc.oneShot) return existsSync(join(this.state, 'pids', `${svc.name}.done`)) ? 'completed' : 'exited';
    return this.alive(this.pidOf(svc.name)) ? 'running' : 'exited';
  }

  private checkHost(): void {
    if (!isRoot()) throw new KemuError('kemu up needs root: it creates network namespaces, interfaces and routes (try sudo)');
    for (const cmd of ['ip', 'etcd']) {
      if (!haveCommand(cmd)) throw new KemuError(`${cmd} is not installed: run scripts/setup.sh (or apt-get install iproute2 etcd-server)`);
    }
  }

  /** Run argv inside a service's namespace and wait. */
  execIn(svc: string, argv: string[], opts: { inherit?: boolean } = {}): number {
    const cmd = argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : argv;
    const r = spawnSync('ip', ['netns', 'exec', serviceNs(this.project, svc), ...cmd], { stdio: opts.inherit ? 'inherit' : 'ignore' });
    return r.status ?? 1;
  }

  /** argv and log descriptor for running a service inside its namespace. */
  private launch(svc: ComposeService): { args: string[]; logFd: number; env: NodeJS.ProcessEnv } {
    mkdirSync(join(this.state, 'logs'), { recursive: true });
    mkdirSync(join(this.state, 'pids'), { recursive: true });
    const argv = svc.command[0] === 'node' ? [process.execPath, ...svc.command.slice(1)] : svc.command;
    return {
      // nsenter joins the network namespace only; `ip netns exec` would also give the process a mount namespace of
      // its own, and the network namespaces a kubelet names for its pods would then be invisible outside it.
      args: [`--net=/run/netns/${serviceNs(this.project, svc.name)}`, '--', ...argv],
      logFd: openSync(join(this.state, 'logs', `${svc.name}.log`), 'a'),
      env: { ...process.env, ...svc.environment },
    };
  }

  private startService(svc: ComposeService): void {
    const { args, logFd, env } = this.launch(svc);
    const child = spawn('nsenter', args, { detached: true, stdio: ['ignore', logFd, logFd], env });
    closeSync(logFd);
    writeFileSync(this.pidFile(svc.name), String(child.pid));
    child.unref();
  }

  private async runOneShot(svc: ComposeService): Promise<void> {
    const { args, logFd, env } = this.launch(svc);
    const r = spawnSync('nsenter', args, { stdio: ['ignore', logFd, logFd], env });
    closeSync(logFd);
    if (r.status !== 0) throw new KemuError(`${svc.name} failed (exit ${r.status}); see ${join(this.state, 'logs', `${svc.name}.log`)}`);
    writeFileSync(join(this.state, 'pids', `${svc.name}.done`), new Date().toISOString());
  }

  private async waitHealthy(svc: ComposeService, timeoutMs = 60_000): Promise<void> {
    if (!svc.healthcheck) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.execIn(svc.name, svc.healthcheck) === 0) return;
      if (!this.alive(this.pidOf(svc.name))) throw new KemuError(`${svc.name} exited during start-up:\n${this.tail(svc.name)}`);
      if (Date.now() > deadline) throw new KemuError(`${svc.name} did not become healthy in ${timeoutMs / 1000}s:\n${this.tail(svc.name)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  tail(svc: string, lines = 20): string {
    const f = join(this.state, 'logs', `${svc}.log`);
    if (!existsSync(f)) return '(no log)';
    return readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n');
  }

  /** Bring the cluster up (or back up after `stop`). Harmless when it is already running. */
  async up(): Promise<'started' | 'already-running'> {
    this.checkHost();
    const p = this.compose();
    const services = startOrder(p.services);
    const running = services.filter((s) => !s.oneShot && this.serviceState(s) === 'running');
    if (running.length && running.length === services.filter((s) => !s.oneShot).length) return 'already-running';
    mkdirSync(this.state, { recursive: true });
    const record: ClusterRecord = {
      project: this.project,
      subnetPrefix: this.subnetPrefix,
      composeFile: this.composeFile,
      services: services.map((s) => s.name),
      nodes: this.opts.nodes ?? this.record?.nodes ?? 3,
      backend: this.opts.backend ?? this.record?.backend ?? 'host-gw',
      createdAt: this.record?.createdAt ?? formatTime(),
    };
    writeFileSync(join(this.state, 'cluster.json'), JSON.stringify(record, null, 2));
    const plan = this.plan(p);
    createNetwork(plan);
    for (const svc of services) {
      if (!svc.address) throw new KemuError(`compose file: service ${svc.name} has no ipv4_address on the cluster network`);
      createServiceNs(plan, svc.name, svc.address);
    }
    for (const svc of services) {
      for (const dep of svc.dependsOn) {
        const d = services.find((s) => s.name === dep.name)!;
        if (dep.condition === 'service_healthy') await this.waitHealthy(d);
      }
      if (svc.oneShot) {
        this.log(`  ${svc.name}: running`);
        await this.runOneShot(svc);
      } else if (this.serviceState(svc) !== 'running') {
        this.log(`  ${svc.name}: starting at ${svc.address}`);
        this.startService(svc);
      }
    }
    for (const svc of services) if (!svc.oneShot) await this.waitHealthy(svc);
    const waiting = await waitNodesReady(this.kubeconfigPath, join(this.state, 'pki'), Array.from({ length: record.nodes }, (_, i) => `node-${i + 1}`));
    if (waiting.length) throw new KemuError(`the nodes did not become Ready:\n  ${waiting.join('\n  ')}`);
    return 'started';
  }

  private async killAll(services: string[]): Promise<void> {
    const pids = services.map((s) => this.pidOf(s)).filter((p): p is number => this.alive(p));
    for (const pid of pids) signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (pids.some((p) => this.alive(p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids) if (this.alive(pid)) signalGroup(pid, 'SIGKILL');
    for (const s of services) rmSync(this.pidFile(s), { force: true });
  }

  /** Stop every process and remove the network, keeping all data. */
  async stop(): Promise<boolean> {
    const rec = this.record;
    if (!rec) return false;
    await this.killAll(rec.services);
    destroyNetwork(this.project, rec.services);
    return true;
  }

  /** Remove everything `up` made: processes, namespaces, interfaces, files. */
  async down(): Promise<string[]> {
    const rec = this.record;
    let services = rec?.services ?? [];
    if (!rec) {
      try {
        services = this.compose().services.map((s) => s.name);
      } catch {
        services = [];
      }
    }
    await this.killAll(services);
    const removed = destroyNetwork(this.project, services);
    if (existsSync(this.state)) {
      rmSync(this.state, { recursive: true, force: true });
      removed.push(`state ${this.state}`);
    }
    return removed;
  }

  status(): { service: string; state: ServiceState; pid?: number; address?: string }[] {
    const p = this.compose();
    return p.services.map((s) => ({ service: s.name, state: this.serviceState(s), pid: this.alive(this.pidOf(s.name)) ? this.pidOf(s.name) : undefined, address: s.address }));
  }

  networkExists(): boolean {
    return nsExists(bridgeNs(this.project));
  }
}

/**
 * Is the process running? A zombie is not: where pid 1 does not reap
 * orphans (some containers and VMs), a killed service stays a zombie.
 */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Services are started as their own process group (detached): signal the whole group. */
function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}
