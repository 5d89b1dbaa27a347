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
import { requireNodesReady } from './ready.js';
import { adminApi } from './admin-api.js';
import { dnsAnswers, startAddons } from './addons.js';
import { parseCompose, startOrder, type ComposeProject, type ComposeService } from './compose.js';
import { KemuError } from './errors.js';
import { isProfile, profileEnv, type Profile } from './profiles.js';
import { DEFAULT_SETTINGS, compileSettings, settingsEnv, settingsFromEnv, type ClusterSettings, type SettingsInput } from './settings.js';
import { HealthWaits, PERIOD_MS } from './health.js';
import { drainOnSignal } from './cpu-share.js';
import { launchAll } from './launch-order.js';
import { elapsed } from './timeline.js';
import { createNetwork, createServiceNs, destroyNetwork, haveCommand, isRoot, nsExists, serviceNs, bridgeNs, type NetworkPlan } from './netns.js';
import { isAlive } from './process-signals.js';
import { Supervisor } from './supervision.js';

/** The kube-dns Service's default address (compose/addons/dns.yaml): the 10th of the default service range, as in Kubernetes. */
export const DNS_SERVICE_IP = DEFAULT_SETTINGS.dnsIP;

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
  /** kube-proxy's mode (KEMU_PROXY_MODE). Default: what the cluster has, else iptables. */
  proxyMode?: ProxyMode;
  /** The IPVS scheduler of the userspace and ipvs modes (KEMU_IPVS_SCHEDULER). Default: the cluster's, else rr. */
  ipvsScheduler?: IpvsScheduler;
  /** The LoadBalancer address pool (the controller-manager's --lb-range, KEMU_LB_RANGE). Default: the cluster's, else its own default. */
  lbRange?: string;
  /** The timing profile (KEMU_PROFILE): fast (default) or stock. Default: the cluster's, else fast. */
  profile?: Profile;
  /** The cluster settings given (`kemu up --service-cidr ...`); with KEMU_SERVICE_CIDR ... under them. Default: the cluster's, else kubeadm's. */
  settings?: SettingsInput;
  log?: (line: string) => void;
}

interface ClusterRecord {
  project: string;
  subnetPrefix: string;
  composeFile: string;
  services: string[];
  nodes: number;
  backend?: string;
  /** kube-proxy's mode; absent in records from before kube-proxy ran, which means iptables. */
  proxyMode?: ProxyMode;
  /** kube-proxy's --ipvs-scheduler; absent means rr. */
  ipvsScheduler?: IpvsScheduler;
  /** The controller-manager's --lb-range; absent or '' means its default pool. */
  lbRange?: string;
  /** The timing profile; absent in records from before profiles, which means fast. */
  profile?: Profile;
  /** Service and pod ranges, cluster domain, DNS; absent in records from before them, which means the defaults. */
  settings?: ClusterSettings;
  createdAt: string;
}

/** kube-proxy's --proxy-mode values (ipvs runs on the userspace data path where the kernel has no IPVS). */
export const PROXY_MODES = ['iptables', 'nftables', 'ipvs', 'userspace'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

export function isProxyMode(s: string): s is ProxyMode {
  return (PROXY_MODES as readonly string[]).includes(s);
}

/** kube-proxy's --ipvs-scheduler values (the userspace and ipvs modes use them). */
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'dh', 'sh'] as const;
export type IpvsScheduler = (typeof IPVS_SCHEDULERS)[number];

export function isIpvsScheduler(s: string): s is IpvsScheduler {
  return (IPVS_SCHEDULERS as readonly string[]).includes(s);
}

/** What one node's kube-proxy said it runs (its "kube-proxy running" log line). */
export interface ProxyDataPath {
  node: string;
  dataPath?: string;
  scheduler?: string;
  fallback?: string;
}

/** `restarting`: exited, and its keeper starts it again after the back-off; `paused`: frozen (freezeService). */
export type ServiceState = 'running' | 'restarting' | 'paused' | 'exited' | 'completed';

export { KemuError };

/**
 * The cluster network for `--subnet a.b` (KEMU_SUBNET): a.b.0.0/16, the
 * subnet the compose file builds from it. Refused here, by name, rather than
 * as a broken address deep in `ip` or the compose file.
 */
export function clusterNetwork(prefix: string): string {
  const cidr = `${prefix}.0.0/16`;
  if (!/^[0-9]+\.[0-9]+$/.test(prefix) || !isCidr(cidr))
    throw new KemuError(`--subnet: "${prefix}" is not the first two octets of an IPv4 network (like 172.28)`);
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
  readonly proxyMode: ProxyMode;
  readonly ipvsScheduler: IpvsScheduler;
  readonly lbRange: string;
  readonly profile: Profile;
  private log: (line: string) => void;
  /** The services' keepers (restart policies) and the pid files the rest of kemu reads. */
  private sup: Supervisor;
  /** While `up` runs: each service's network namespace, made or being made (up). */
  private namespaces = new Map<string, Promise<void>>();
  private compiledSettings?: ClusterSettings;

  constructor(private opts: ClusterOptions = {}) {
    this.composeFile = opts.composeFile ?? join(REPO_ROOT, 'compose', 'docker-compose.yml');
    const rec = this.recordAt(join(stateRoot(opts), opts.name ?? process.env.KEMU_PROJECT ?? 'kemu'));
    this.project = opts.name ?? process.env.KEMU_PROJECT ?? 'kemu';
    this.subnetPrefix = opts.subnet ?? rec?.subnetPrefix ?? process.env.KEMU_SUBNET ?? '172.28';
    clusterNetwork(this.subnetPrefix);
    this.state = join(stateRoot(opts), this.project);
    // A bad KEMU_PROXY_MODE is refused by `up` (checkHost), not by `down` or `status`.
    const envMode = process.env.KEMU_PROXY_MODE || undefined;
    this.proxyMode = opts.proxyMode ?? (envMode !== undefined && isProxyMode(envMode) ? envMode : undefined) ?? rec?.proxyMode ?? 'iptables';
    const envSched = process.env.KEMU_IPVS_SCHEDULER || undefined;
    this.ipvsScheduler = opts.ipvsScheduler ?? (envSched !== undefined && isIpvsScheduler(envSched) ? envSched : undefined) ?? rec?.ipvsScheduler ?? 'rr';
    this.lbRange = opts.lbRange ?? process.env.KEMU_LB_RANGE ?? rec?.lbRange ?? '';
    const envProfile = process.env.KEMU_PROFILE || undefined;
    this.profile = opts.profile ?? (envProfile !== undefined && isProfile(envProfile) ? envProfile : undefined) ?? rec?.profile ?? 'fast';
    this.log = opts.log ?? ((l) => console.log(l));
    this.sup = new Supervisor(this.state, this.project);
  }

  private recordAt(dir: string): ClusterRecord | undefined {
    const f = join(dir, 'cluster.json');
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as ClusterRecord) : undefined;
  }

  get record(): ClusterRecord | undefined {
    return this.recordAt(this.state);
  }

  /** What the settings given (flags over KEMU_* variables) ask for. */
  private wantedSettings(): SettingsInput {
    return { ...settingsFromEnv(process.env), ...this.opts.settings };
  }

  /**
   * The cluster's settings: those it was made with, else the ones given (checked), else the defaults. `up` checks
   * the ones given against those it was made with (compileSettings); the other verbs go by the record.
   */
  get settings(): ClusterSettings {
    if (this.compiledSettings) return this.compiledSettings;
    const rec = this.record;
    if (rec) return rec.settings ?? DEFAULT_SETTINGS;
    this.compiledSettings = compileSettings(this.wantedSettings(), { nodeNetwork: clusterNetwork(this.subnetPrefix), nodes: this.nodeCount() });
    return this.compiledSettings;
  }

  private nodeCount(): number {
    return this.opts.nodes ?? this.record?.nodes ?? 3;
  }

  get kubeconfigPath(): string {
    return join(this.state, 'kubeconfig');
  }

  compose(): ComposeProject {
    const nodes = this.nodeCount();
    const env = {
      ...process.env,
      KEMU_ROOT: REPO_ROOT,
      KEMU_STATE: this.state,
      KEMU_SUBNET: this.subnetPrefix,
      KEMU_PROJECT: this.project,
      KEMU_NODES: String(nodes),
      KEMU_BACKEND: this.opts.backend ?? this.record?.backend ?? 'host-gw',
      KEMU_PROXY_MODE: this.proxyMode,
      KEMU_IPVS_SCHEDULER: this.ipvsScheduler,
      KEMU_LB_RANGE: this.lbRange,
      ...profileEnv(this.profile),
      ...settingsEnv(this.settings, this.subnetPrefix),
    };
    return parseCompose(readFileSync(this.composeFile, 'utf8'), env);
  }

  private plan(p: ComposeProject): NetworkPlan {
    return { project: this.project, subnet: p.subnet, gateway: p.gateway };
  }

  private logFile(svc: string): string {
    return join(this.state, 'logs', `${svc}.log`);
  }

  /** The pid of a service's process (its keeper's child), when one was started. */
  pidOf(svc: string): number | undefined {
    return this.sup.pid(svc);
  }

  /** For health waits: the service runs, or its keeper has just started it and its process is not written yet. */
  serviceAlive(svc: string): boolean {
    return this.sup.starting(svc) || isAlive(this.sup.pid(svc));
  }

  serviceState(svc: ComposeService): ServiceState {
    if (svc.oneShot) return existsSync(join(this.state, 'pids', `${svc.name}.done`)) ? 'completed' : 'exited';
    return this.sup.stateOf(svc.name);
  }

  private checkHost(): void {
    const envMode = process.env.KEMU_PROXY_MODE || undefined;
    if (envMode !== undefined && !isProxyMode(envMode)) throw new KemuError(`KEMU_PROXY_MODE: "${envMode}" is not one of ${PROXY_MODES.join(', ')}`);
    const envSched = process.env.KEMU_IPVS_SCHEDULER || undefined;
    if (envSched !== undefined && !isIpvsScheduler(envSched))
      throw new KemuError(`KEMU_IPVS_SCHEDULER: "${envSched}" is not one of ${IPVS_SCHEDULERS.join(', ')}`);
    if (!isRoot()) throw new KemuError('kemu up needs root: it creates network namespaces, interfaces and routes (try sudo)');
    for (const cmd of ['ip', 'etcd']) {
      if (!haveCommand(cmd)) throw new KemuError(`${cmd} is not installed: run scripts/setup.sh (or apt-get install iproute2 etcd-server)`);
    }
    // kemu up waits until the cluster DNS answers, asking it with dig.
    if (!haveCommand('dig')) throw new KemuError('dig is not installed: run scripts/setup.sh (or apt-get install bind9-dnsutils)');
  }

  /** Run argv inside a service's namespace and wait. */
  execIn(svc: string, argv: string[], opts: { inherit?: boolean } = {}): number {
    const cmd = argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : argv;
    const r = spawnSync('ip', ['netns', 'exec', serviceNs(this.project, svc), ...cmd], { stdio: opts.inherit ? 'inherit' : 'ignore' });
    return r.status ?? 1;
  }

  /** argv (nsenter, then the service's command) and environment for running a service inside its namespace. */
  private launch(svc: ComposeService): { argv: string[]; env: NodeJS.ProcessEnv } {
    const argv = svc.command[0] === 'node' ? [process.execPath, ...svc.command.slice(1)] : svc.command;
    return {
      // nsenter joins the network namespace only; `ip netns exec` would also give the process a mount namespace of
      // its own, and the network namespaces a kubelet names for its pods would then be invisible outside it.
      argv: ['nsenter', `--net=/run/netns/${serviceNs(this.project, svc.netns ?? svc.name)}`, '--', ...argv],
      env: { ...process.env, ...svc.environment },
    };
  }

  /** Start a long-running service under its keeper, which applies its compose `restart:` policy. */
  private spawnService(svc: ComposeService, early = false): void {
    const { argv, env } = this.launch(svc);
    this.sup.start(svc.name, svc.restart, argv, env, this.logFile(svc.name), { lowPriority: early });
  }

  /** Run a one-shot service to its end (without blocking: services that do not wait for it start meanwhile). */
  private async runOneShot(svc: ComposeService): Promise<void> {
    const { argv, env } = this.launch(svc);
    mkdirSync(dirname(this.logFile(svc.name)), { recursive: true });
    mkdirSync(join(this.state, 'pids'), { recursive: true });
    const logFd = openSync(this.logFile(svc.name), 'a');
    const child = spawn(argv[0] ?? 'nsenter', argv.slice(1), { stdio: ['ignore', logFd, logFd], env });
    closeSync(logFd);
    const code = await new Promise<number | null>((r) => {
      child.on('error', () => r(null));
      child.on('close', r);
    });
    if (code !== 0) throw new KemuError(`${svc.name} failed (exit ${code}); see ${this.logFile(svc.name)}`);
    writeFileSync(join(this.state, 'pids', `${svc.name}.done`), new Date().toISOString());
  }

  tail(svc: string, lines = 20): string {
    const f = this.logFile(svc);
    if (!existsSync(f)) return '(no log)';
    return readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n');
  }

  /** Bring the cluster up (or back up after `stop`). Harmless when it is already running. */
  async up(): Promise<'started' | 'already-running'> {
    this.checkHost();
    // Bad or changed settings are refused before anything starts.
    const rec0 = this.record;
    this.compiledSettings = compileSettings(this.wantedSettings(), {
      nodeNetwork: clusterNetwork(this.subnetPrefix),
      nodes: this.nodeCount(),
      recorded: rec0 ? (rec0.settings ?? DEFAULT_SETTINGS) : undefined,
    });
    const t0 = Date.now();
    const p = this.compose();
    const services = startOrder(p.services);
    await this.switchProxyMode(services);
    // A new pool is read at start: the controller-manager restarts with it (addresses outside it are reassigned).
    if (this.record && (this.record.lbRange ?? '') !== this.lbRange) {
      this.log(`  controller-manager: LoadBalancer pool ${this.record.lbRange || 'default'} -> ${this.lbRange || 'default'}`);
      await this.killAll(services.filter((s) => s.name.startsWith('controller-manager')).map((s) => s.name));
    }
    // A service whose keeper waits out a back-off is under way too: a second keeper would run it twice.
    const running = services.filter((s) => !s.oneShot && this.sup.active(s.name));
    if (running.length && running.length === services.filter((s) => !s.oneShot).length) return 'already-running';
    mkdirSync(this.state, { recursive: true });
    const record: ClusterRecord = {
      project: this.project,
      subnetPrefix: this.subnetPrefix,
      composeFile: this.composeFile,
      services: services.map((s) => s.name),
      nodes: this.nodeCount(),
      backend: this.opts.backend ?? this.record?.backend ?? 'host-gw',
      proxyMode: this.proxyMode,
      ipvsScheduler: this.ipvsScheduler,
      lbRange: this.lbRange,
      profile: this.profile,
      settings: this.settings,
      createdAt: this.record?.createdAt ?? formatTime(),
    };
    writeFileSync(join(this.state, 'cluster.json'), JSON.stringify(record, null, 2));
    const plan = this.plan(p);
    createNetwork(plan);
    // Each service's namespace, one after the other in start order, while the first services start: made before
    // anything started, their hundred-odd `ip` runs held init and etcd back by half a second.
    let made: Promise<void> = Promise.resolve();
    this.namespaces.clear();
    for (const svc of services) {
      if (svc.netns) continue; // shares another service's namespace
      const address = svc.address;
      if (!address) throw new KemuError(`compose file: service ${svc.name} has no ipv4_address on the cluster network`);
      made = made.then(() => createServiceNs(plan, svc.name, address));
      made.catch(() => undefined); // a failure is reported to the start that waits for it
      this.namespaces.set(svc.name, made);
    }
    const health = new HealthWaits(services, {
      netns: (s) => serviceNs(this.project, s),
      alive: (s) => this.serviceAlive(s),
      tail: (s) => this.tail(s),
    });
    // What others wait for (etcd, the api-server) says when it is healthy: the launch's timeline (npm run bench:up).
    const said = new Set<string>();
    const healthyOnce = async (s: ComposeService) => {
      await health.wait(s);
      if (!said.has(s.name)) {
        said.add(s.name);
        this.log(`  ${s.name}: healthy${elapsed(t0)}`);
      }
    };
    // Ctrl-C before the releases would leave what started early at the low share: drained first.
    const undoSignals = drainOnSignal(this.project);
    try {
      await launchAll(services, {
        start: (s, early) => this.startOne(s, early),
        healthy: healthyOnce,
        // Every component waits for its api-server's listener before its first request (waitForListener).
        early: (_s, dep) => dep.name === 'apiserver',
        release: (s) => this.sup.release(s.name),
      });
    } finally {
      undoSignals();
      this.sup.releasedAll();
    }
    // What nothing waited for (the nodes' checks: kubelet, and kube-proxy's first rules) is checked while the nodes
    // are watched: a node's Ready does not wait for its kube-proxy's check, nor the add-ons for it.
    const daemons = services.filter((s) => !s.oneShot);
    const healthy = Promise.all(daemons.map((s) => health.wait(s, { periodMs: PERIOD_MS.summary }))).then(() =>
      this.log(`  processes: ${daemons.length} healthy${elapsed(t0)}`),
    );
    // Add-ons run as pods: a control plane without nodes (benchmarks) gets none.
    const nodes = Array.from({ length: record.nodes }, (_, i) => `node-${i + 1}`);
    await Promise.all([healthy, nodes.length ? this.nodesAndAddons(nodes, t0) : undefined]);
    return 'started';
  }

  /** Start one service (a one-shot: run it to its end), unless it runs already. */
  private async startOne(svc: ComposeService, early = false): Promise<void> {
    await this.namespaces.get(svc.netns ?? svc.name);
    if (svc.oneShot) {
      this.log(`  ${svc.name}: running`);
      await this.runOneShot(svc);
    } else if (!this.sup.active(svc.name)) {
      this.log(`  ${svc.name}: starting at ${svc.address}`);
      this.spawnService(svc, early);
    }
  }

  /** Wait for the nodes to be Ready, then start the add-ons (startAddons: until the cluster DNS answers). */
  private async nodesAndAddons(nodes: string[], t0: number): Promise<void> {
    const api = adminApi(this.kubeconfigPath, join(this.state, 'pki'));
    if (!api) throw new KemuError(`${this.kubeconfigPath} names no server`);
    await requireNodesReady(api, nodes);
    this.log(`  nodes Ready: ${nodes.join(', ')}${elapsed(t0)}`);
    const s = this.settings;
    await startAddons({
      api,
      repoRoot: REPO_ROOT,
      settings: s,
      answers: () => dnsAnswers(serviceNs(this.project, 'node-1'), s.dnsIP, s.clusterDomain),
      log: (line) => this.log(line),
      elapsed: () => elapsed(t0),
    });
  }

  /**
   * A running cluster asked for another kube-proxy mode: stop every kube-proxy and
   * remove what it wrote (kube-proxy --cleanup in each node's namespace: iptables
   * KUBE-* chains and jumps, the nft table), so the new mode starts on a clean
   * kernel; `up` then starts the proxies in the new mode.
   */
  private async switchProxyMode(services: ComposeService[]): Promise<void> {
    const was = this.record?.proxyMode ?? 'iptables';
    const wasScheduler = this.record?.ipvsScheduler ?? 'rr';
    if (!this.record || (was === this.proxyMode && wasScheduler === this.ipvsScheduler)) return;
    const proxies = services.filter((s) => s.process === 'kube-proxy');
    await this.killAll(proxies.map((s) => s.name));
    if (was === this.proxyMode) {
      // Only the scheduler changed: the restarted proxies rewrite their own rules.
      this.log(`  kube-proxy: ${this.proxyMode} with the ${wasScheduler} -> ${this.ipvsScheduler} scheduler`);
      writeFileSync(join(this.state, 'cluster.json'), JSON.stringify({ ...this.record, ipvsScheduler: this.ipvsScheduler }, null, 2));
      return;
    }
    // The NetworkPolicy agents follow the mode (their --proxy-mode): restarted by `up`, they move their rules over.
    await this.killAll(services.filter((s) => s.process === 'netpol').map((s) => s.name));
    let cleaned = 0;
    for (const p of proxies) {
      const ns = p.netns ?? p.name;
      if (!nsExists(serviceNs(this.project, ns))) continue; // a stopped cluster: its rules went with the namespace
      if (this.execIn(ns, [...p.command, '--cleanup']) !== 0) throw new KemuError(`${p.name}: removing the ${was} rules failed`);
      cleaned++;
    }
    this.log(`  kube-proxy: ${was} -> ${this.proxyMode}${cleaned ? `, the ${was} rules removed from ${cleaned} node(s)` : ''}`);
    writeFileSync(join(this.state, 'cluster.json'), JSON.stringify({ ...this.record, proxyMode: this.proxyMode, ipvsScheduler: this.ipvsScheduler }, null, 2));
  }

  /**
   * What each node's kube-proxy said it runs, from the last "kube-proxy running" line of
   * its log: the data path that carries the traffic (ipvs mode may fall back to the
   * userspace one), its scheduler, and why it fell back.
   */
  proxyDataPaths(): ProxyDataPath[] {
    return this.compose()
      .services.filter((s) => s.process === 'kube-proxy')
      .map((s) => {
        const node = s.netns ?? s.name.split('/')[0] ?? s.name;
        const f = this.logFile(s.name);
        if (!existsSync(f)) return { node };
        const line = readFileSync(f, 'utf8')
          .split('\n')
          .reverse()
          .find((l) => l.includes('"msg":"kube-proxy running"'));
        if (!line) return { node };
        try {
          const j = JSON.parse(line) as { dataPath?: string; scheduler?: string; fallback?: string };
          return {
            node,
            ...(j.dataPath ? { dataPath: j.dataPath } : {}),
            ...(j.scheduler ? { scheduler: j.scheduler } : {}),
            ...(j.fallback ? { fallback: j.fallback } : {}),
          };
        } catch {
          return { node };
        }
      });
  }

  /** Stop services for good (their keepers first, so nothing is restarted): SIGTERM, SIGKILL after 5 s. */
  private async killAll(services: string[]): Promise<void> {
    await this.sup.stop(services);
  }

  /** A long-running service of the compose file by name (node-1, node-1/kube-proxy, scheduler, ...). */
  private service(name: string): ComposeService {
    const svc = this.compose().services.find((s) => s.name === name);
    if (!svc) throw new KemuError(`no service "${name}" in cluster "${this.project}"`);
    if (svc.oneShot) throw new KemuError(`${name} is a one-shot service: it runs once at start`);
    return svc;
  }

  /** The services that run in a node's (or any service's) network namespace: node-1 → node-1, node-1/kube-proxy. */
  servicesOf(node: string): string[] {
    return this.compose()
      .services.filter((s) => !s.oneShot && (s.name === node || s.netns === node))
      .map((s) => s.name);
  }

  /** Stop services as `docker stop`: SIGTERM, SIGKILL after `graceMs`; they stay stopped until started again. */
  async stopServices(names: string[], graceMs = 5000): Promise<void> {
    for (const n of names) this.service(n);
    await this.sup.stop(names, graceMs);
  }

  /** Start stopped services again (`docker start`), under their keepers; false for each one that was running. */
  startServices(names: string[]): boolean[] {
    const svcs = names.map((n) => this.service(n));
    return svcs.map((svc) => {
      if (this.sup.active(svc.name)) return false;
      if (!nsExists(serviceNs(this.project, svc.netns ?? svc.name))) throw new KemuError(`cluster "${this.project}" is stopped: kemu start brings it back`);
      this.spawnService(svc);
      return true;
    });
  }

  /**
   * Send `signal` to a service's processes as `docker kill` does (default SIGKILL): its keeper restarts nothing,
   * and it counts as stopped until started again. A process killed behind kemu's back is restarted instead.
   */
  killService(name: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    this.service(name);
    this.sup.kill(name, signal);
  }

  /** Freeze every process of a service, what it started included (a kubelet's pods), as `docker pause`. */
  async freezeService(name: string): Promise<void> {
    this.service(name);
    await this.sup.freeze(name);
  }

  /** Undo freezeService (`docker unpause`). */
  thawService(name: string): void {
    this.service(name);
    this.sup.thaw(name);
  }

  /** How many times a service's keeper has restarted it since it was last started. */
  restartCount(name: string): number {
    return this.sup.restarts(name);
  }

  /** Stop every process and remove the network, keeping all data. */
  async stop(): Promise<boolean> {
    const rec = this.record;
    if (!rec) return false;
    await this.killAll(rec.services);
    destroyNetwork(this.project, rec.services);
    await this.sup.removeFreezers();
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
    // Before the namespaces go: a keeper no record names would otherwise restart its service into a missing one.
    await this.sup.removeFreezers();
    const removed = destroyNetwork(this.project, services);
    if (existsSync(this.state)) {
      rmSync(this.state, { recursive: true, force: true });
      removed.push(`state ${this.state}`);
    }
    return removed;
  }

  status(): { service: string; state: ServiceState; pid?: number; restarts: number; address?: string }[] {
    const p = this.compose();
    return p.services.map((s) => {
      const pid = this.sup.pid(s.name);
      return {
        service: s.name,
        state: this.serviceState(s),
        pid: isAlive(pid) ? pid : undefined,
        restarts: s.oneShot ? 0 : this.sup.restarts(s.name),
        address: s.address,
      };
    });
  }

  networkExists(): boolean {
    return nsExists(bridgeNs(this.project));
  }
}
