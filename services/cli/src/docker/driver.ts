/**
 * `kemu up --driver docker`: the compose file run by Docker, through the compose
 * CLI (compose-cli.ts). The same verbs as the namespace driver — up (build the
 * image if missing, scale to --nodes), stop, start, down, logs, exec, status —
 * and the same waits: `up` returns when every node is Ready and the cluster DNS
 * answers. The admin kubeconfig lands where `kemu up` puts it
 * ($KEMU_HOME/PROJECT/kubeconfig), pointing at the api-server's published port.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { formatTime } from '@kemu/api';
import { adminApi, type AdminApi } from '../admin-api.js';
import { startAddons } from '../addons.js';
import { clusterNetwork } from '../cluster.js';
import { DEFAULT_SETTINGS, compileSettings, settingsEnv, settingsFromEnv, type ClusterSettings, type SettingsInput } from '../settings.js';
import { KemuError } from '../errors.js';
import { requireNodesReady } from '../ready.js';
import { elapsed } from '../timeline.js';
import { ComposeCli, dockerAnswers } from './compose-cli.js';
import { ensureImage } from './image.js';

export { KEMU_IMAGE, LOCAL_BASE_IMAGE } from './image.js';

/** Where the compose file keeps state inside the containers (its KEMU_STATE default). */
const STATE_IN_CONTAINER = '/var/lib/kemu';

/** What `kemu up` flags set (absent: the cluster's, else the compose file's defaults). */
export interface DockerSettings {
  nodes?: number;
  backend?: string;
  proxyMode?: string;
  ipvsScheduler?: string;
  lbRange?: string;
  /** The cluster settings given (flags; KEMU_SERVICE_CIDR ... under them). */
  settings?: SettingsInput;
}

export interface DockerClusterOptions extends DockerSettings {
  project: string;
  subnetPrefix: string;
  /** $KEMU_HOME/PROJECT: the record, the admin kubeconfig and its credentials. */
  state: string;
  composeFile: string;
  repoRoot: string;
  log?: (line: string) => void;
}

/** cluster.json of a Docker-driven cluster (the namespace driver's record has no `driver`). */
export interface DockerRecord {
  driver: 'docker';
  project: string;
  subnetPrefix: string;
  composeFile: string;
  nodes: number;
  apiserverPort: number;
  backend: string;
  proxyMode: string;
  ipvsScheduler: string;
  lbRange: string;
  /** Absent in records from before the settings: the defaults. */
  settings?: ClusterSettings;
  createdAt: string;
}

export interface DockerServiceRow {
  service: string;
  state: string;
  container: string;
  address: string;
  /** The node's name in Kubernetes (the container's hostname), for node containers. */
  nodeName?: string;
}

/** `node-2` → the node service's 2nd replica; anything else is a service of the compose file. */
export function parseTarget(target: string): { service: string; index: number } {
  const m = /^node-([0-9]+)$/.exec(target);
  return m ? { service: 'node', index: Number(m[1]) } : { service: target, index: 1 };
}

/** The kubeconfig the api-server's container holds, pointed at the port published on the host. */
export function publishedKubeconfig(kubeconfig: string, port: number): string {
  return kubeconfig.replace(/server: https:\/\/\S+/, `server: https://127.0.0.1:${port}`);
}

export class DockerCluster {
  private readonly log: (line: string) => void;

  constructor(private readonly o: DockerClusterOptions) {
    this.log = o.log ?? ((l) => console.log(l));
  }

  get record(): DockerRecord | undefined {
    const f = join(this.o.state, 'cluster.json');
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as DockerRecord) : undefined;
  }

  get kubeconfigPath(): string {
    return join(this.o.state, 'kubeconfig');
  }

  /** The record `up` writes: options given, else the cluster's, else the defaults. */
  private nextRecord(): DockerRecord {
    const r = this.record;
    const envPort = Number(process.env.KEMU_APISERVER_PORT);
    const nodes = this.o.nodes ?? r?.nodes ?? 3;
    const settings = compileSettings(
      { ...settingsFromEnv(process.env), ...this.o.settings },
      { nodeNetwork: clusterNetwork(this.o.subnetPrefix), nodes, recorded: r ? (r.settings ?? DEFAULT_SETTINGS) : undefined },
    );
    return {
      driver: 'docker',
      project: this.o.project,
      subnetPrefix: this.o.subnetPrefix,
      composeFile: this.o.composeFile,
      nodes,
      apiserverPort: r?.apiserverPort ?? (envPort > 0 ? envPort : 6443),
      backend: this.o.backend ?? r?.backend ?? 'host-gw',
      proxyMode: this.o.proxyMode ?? r?.proxyMode ?? 'iptables',
      ipvsScheduler: this.o.ipvsScheduler ?? r?.ipvsScheduler ?? 'rr',
      lbRange: this.o.lbRange ?? r?.lbRange ?? '',
      settings,
      createdAt: r?.createdAt ?? formatTime(),
    };
  }

  private compose(rec: DockerRecord | undefined = this.record): Promise<ComposeCli> {
    const r = rec ?? this.nextRecord();
    return ComposeCli.open({
      project: this.o.project,
      file: this.o.composeFile,
      env: {
        KEMU_SUBNET: r.subnetPrefix,
        KEMU_NODES: String(r.nodes),
        KEMU_APISERVER_PORT: String(r.apiserverPort),
        KEMU_BACKEND: r.backend,
        KEMU_PROXY_MODE: r.proxyMode,
        KEMU_IPVS_SCHEDULER: r.ipvsScheduler,
        KEMU_LB_RANGE: r.lbRange,
        ...settingsEnv(r.settings ?? DEFAULT_SETTINGS, r.subnetPrefix),
      },
    });
  }

  private async needDocker(): Promise<void> {
    if (!(await dockerAnswers())) throw new KemuError('no Docker engine answers (docker info): start dockerd — scripts/docker-base.sh installs and starts one');
  }

  /** Bring the cluster up, or scale it to --nodes, or start it again; returns when nodes are Ready and DNS answers. */
  async up(): Promise<'started'> {
    await this.needDocker();
    const t0 = Date.now();
    const rec = this.nextRecord();
    await ensureImage(this.o.repoRoot, this.log);
    mkdirSync(this.o.state, { recursive: true });
    writeFileSync(join(this.o.state, 'cluster.json'), JSON.stringify(rec, null, 2));
    const compose = await this.compose(rec);
    this.log(`  compose: up -d --scale node=${rec.nodes} (project ${this.o.project})`);
    await compose.run(['up', '-d', '--no-build', '--remove-orphans', '--scale', `node=${rec.nodes}`]);
    this.log(`  containers: up${elapsed(t0)}`);
    await this.readyAndAddons(compose, rec, t0);
    return 'started';
  }

  /** `docker compose start`: the stopped containers again, then the same waits as up. */
  async start(): Promise<void> {
    await this.needDocker();
    const rec = this.record;
    if (!rec) throw new KemuError(`No cluster "${this.o.project}" here: use kemu up --driver docker`);
    const t0 = Date.now();
    const compose = await this.compose(rec);
    await compose.run(['start']);
    await this.readyAndAddons(compose, rec, t0);
  }

  /** `docker compose stop`: every container stopped, volumes (etcd, certificates, pod state) kept. */
  async stop(): Promise<boolean> {
    if (!this.record) return false;
    await (await this.compose()).run(['stop']);
    return true;
  }

  /** `docker compose down -v`: containers, network and volume gone; then the state directory. */
  async down(): Promise<string[]> {
    const removed: string[] = [];
    if (await dockerAnswers()) {
      const compose = await this.compose();
      const had = (await compose.containers()).length;
      await compose.run(['down', '-v', '--remove-orphans', '--timeout', '5']);
      if (had) removed.push(`${had} containers, network and volume of compose project ${this.o.project}`);
    }
    if (existsSync(this.o.state)) {
      rmSync(this.o.state, { recursive: true, force: true });
      removed.push(`state ${this.o.state}`);
    }
    return removed;
  }

  /** Every container of the project: node-i for the i-th node, the service's name otherwise. */
  async status(): Promise<DockerServiceRow[]> {
    const compose = await this.compose();
    const ids = await compose.containers();
    if (!ids.length) return [];
    const fmt =
      '{{.Name}}|{{.State.Status}}{{if .State.Health}} ({{.State.Health.Status}}){{end}}|{{index .Config.Labels "com.docker.compose.service"}}|' +
      '{{index .Config.Labels "com.docker.compose.container-number"}}|{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}|{{.Config.Hostname}}';
    const r = await execa('docker', ['inspect', '--format', fmt, ...ids], { stdin: 'ignore' });
    return String(r.stdout)
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [name = '', state = '', service = '', n = '', address = '', host = ''] = l.split('|');
        const node = service === 'node';
        return { service: node ? `node-${n}` : service, state, container: name.replace(/^\//, ''), address, ...(node ? { nodeName: host } : {}) };
      })
      .sort((a, b) => a.service.localeCompare(b.service, 'en', { numeric: true }));
  }

  /** A service's (node-i: that node's) log, through docker logs. */
  async logs(target: string, follow: boolean): Promise<void> {
    const id = await this.container(target);
    await execa('docker', ['logs', ...(follow ? ['-f'] : []), id], { stdio: 'inherit', reject: false });
  }

  /** Run a command in a service's (node-i: that node's) container. */
  async exec(target: string, argv: string[]): Promise<number> {
    const id = await this.container(target);
    const tty = process.stdin.isTTY ? ['-it'] : ['-i'];
    const r = await execa('docker', ['exec', ...tty, id, ...(argv.length ? argv : ['sh'])], { stdio: 'inherit', reject: false });
    return r.exitCode ?? 1;
  }

  private async container(target: string): Promise<string> {
    const { service, index } = parseTarget(target);
    const id = (await (await this.compose()).containers(service))[index - 1];
    if (!id) throw new KemuError(`no container for "${target}" in cluster "${this.o.project}"`);
    return id;
  }

  /** The admin credentials out of the state volume, the nodes Ready, the add-ons applied, the cluster DNS answering. */
  private async readyAndAddons(compose: ComposeCli, rec: DockerRecord, t0: number): Promise<void> {
    const api = await this.fetchCredentials(compose, rec.apiserverPort);
    // A node's name is its container's hostname (Docker's short container id).
    const nodes = await compose.containers('node');
    await requireNodesReady(api, nodes);
    this.log(`  nodes Ready: ${nodes.join(', ')}${elapsed(t0)}`);
    if (!nodes.length) return;
    const s = rec.settings ?? DEFAULT_SETTINGS;
    const dig = ['dig', '+short', '+time=1', '+tries=1', `@${s.dnsIP}`, `kubernetes.default.svc.${s.clusterDomain}`];
    await startAddons({
      api,
      repoRoot: this.o.repoRoot,
      settings: s,
      answers: async () => /^[0-9.]+$/m.test((await compose.execOut('node', dig)) ?? ''),
      log: (line) => this.log(line),
      elapsed: () => elapsed(t0),
    });
  }

  /** The kubeconfig and the admin credentials `kemu init` wrote into the state volume, copied to the host. */
  private async fetchCredentials(compose: ComposeCli, port: number): Promise<AdminApi> {
    const pki = join(this.o.state, 'pki');
    mkdirSync(pki, { recursive: true });
    const read = async (path: string): Promise<string> => {
      const out = await compose.execOut('apiserver', ['cat', `${STATE_IN_CONTAINER}/${path}`]);
      if (out === undefined) throw new KemuError(`cannot read ${path} from the apiserver container: see kemu logs apiserver --driver docker`);
      return `${out}\n`;
    };
    for (const f of ['ca.crt', 'admin.crt', 'admin.key']) {
      writeFileSync(join(pki, f), await read(`pki/${f}`), { mode: 0o600 });
    }
    writeFileSync(this.kubeconfigPath, publishedKubeconfig(await read('kubeconfig'), port), { mode: 0o600 });
    chmodSync(this.kubeconfigPath, 0o600);
    const api = adminApi(this.kubeconfigPath, pki);
    if (!api) throw new KemuError(`${this.kubeconfigPath} names no server`);
    return api;
  }
}
