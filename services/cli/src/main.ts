#!/usr/bin/env node
/** kemu: run a Kubernetes cluster emulator from the compose file, with or without Docker. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { Cluster, REPO_ROOT, IPVS_SCHEDULERS, KemuError, PROXY_MODES, isIpvsScheduler, isProxyMode, type ClusterOptions } from './cluster.js';
import { init } from './init.js';
import { registerChaos } from './chaos/commands.js';
import { PROFILES, isProfile } from './profiles.js';
import { SETTINGS_VARIABLES, describeSettings, type SettingsInput } from './settings.js';
import { lbAnnouncements } from './lb-status.js';
import { serviceNs, nsExists } from './netns.js';
import { dockerDriver, formatDockerStatus, type DriverChoice } from './docker/select.js';
import { buildImageCommand } from './docker/image.js';

const program = new Command('kemu').description('A Kubernetes cluster emulator: real etcd, api-server and a real Linux data plane.');
program
  .option('-p, --name <project>', 'cluster (project) name; prefixes every namespace it creates')
  .option('--subnet <a.b>', 'first two octets of the cluster network (default 172.28)')
  .option('--driver <driver>', "namespace (processes in network namespaces, no Docker) or docker (the compose CLI); default: the cluster's, else namespace");

/** The options commander parsed, by command (flags not given are absent). */
interface GlobalOptions {
  name?: string;
  subnet?: string;
  driver?: string;
}
/** `up`'s options: its own, and the cluster settings (settings.ts). */
interface UpOptions extends SettingsInput {
  nodes?: string;
  backend?: string;
  proxyMode?: string;
  ipvsScheduler?: string;
  lbRange?: string;
  profile?: string;
}

/** The cluster settings among `up`'s options (absent: not given). */
function settingsOf(o: UpOptions): SettingsInput {
  const keys = Object.keys(SETTINGS_VARIABLES) as (keyof SettingsInput)[];
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

const cluster = (extra: Omit<ClusterOptions, 'name' | 'subnet' | 'composeFile' | 'home' | 'log'> = {}) => {
  const o = program.opts<GlobalOptions>();
  return new Cluster({ name: o.name, subnet: o.subnet, ...extra });
};
/** The Docker driver when --driver or the cluster's record says docker (docker/select.ts). */
const docker = (c: Cluster, extra: Omit<DriverChoice, 'flag' | 'repoRoot'> = {}) =>
  dockerDriver(c, { flag: program.opts<GlobalOptions>().driver, repoRoot: REPO_ROOT, ...extra });

function usage(c: Cluster): string {
  return [
    '',
    `Cluster "${c.project}" is ready.`,
    '',
    `  export KUBECONFIG=${c.kubeconfigPath}`,
    '  kubectl get namespaces',
    '',
    `  kemu status${c.project !== 'kemu' ? ` -p ${c.project}` : ''}      what runs where`,
    "  kemu logs apiserver   a service's log",
    '  kemu down             remove everything',
  ].join('\n');
}

program
  .command('up')
  .description('bring the cluster up and return when it is ready')
  // No commander defaults: an absent flag keeps what the cluster has (cluster.json), so `kemu up --proxy-mode X`
  // on a 2-node vxlan cluster neither adds a third node nor switches it to host-gw.
  .option('--nodes <n>', "number of nodes (node-1..node-N; default: the cluster's, else 3)")
  .option(
    '--backend <backend>',
    "pod network between nodes: host-gw (routes via node addresses) or vxlan (an overlay, like flannel); default: the cluster's, else host-gw",
  )
  .option(
    '--proxy-mode <mode>',
    `kube-proxy's data path: ${PROXY_MODES.join(', ')} (default: $KEMU_PROXY_MODE, else the cluster's, else iptables); a change on a running cluster removes the old mode's rules`,
  )
  .option(
    '--ipvs-scheduler <name>',
    `the scheduler of the userspace and ipvs modes: ${IPVS_SCHEDULERS.join(', ')} (default: $KEMU_IPVS_SCHEDULER, else the cluster's, else rr)`,
  )
  .option(
    '--lb-range <cidrs>',
    "LoadBalancer address pool: CIDRs or a.b.c.d-a.b.c.e ranges, comma-separated (default: the cluster's, else the top /24 of the node network less .0 and .255); a change on a running cluster restarts the controller-manager",
  )
  .option(
    '--profile <name>',
    `timing profile: ${PROFILES.join(', ')} (fast: a node failure handled in seconds; stock: Kubernetes' defaults); default: $KEMU_PROFILE, else the cluster's, else fast`,
  )
  // Cluster settings, as kubeadm's networking options; fixed when the cluster is made (a change is refused).
  .option(
    '--service-cidr <cidr>',
    'the ClusterIP range (kube-apiserver --service-cluster-ip-range; default 10.96.0.0/12); the kubernetes Service gets its first address',
  )
  .option('--pod-cidr <cidr>', 'the pod network, a /24 of it per node (kube-controller-manager --cluster-cidr; default 10.244.0.0/16)')
  .option('--cluster-domain <domain>', 'the cluster domain (kubelet --cluster-domain, the DNS zone; default cluster.local)')
  .option('--dns-ip <ip>', "the kube-dns Service's address, pods' nameserver (kubelet --cluster-dns; default the 10th address of the service range)")
  .option('--dns-replicas <n>', 'replicas of the coredns Deployment (default 2)')
  .option('--dns <on|off>', "off: no DNS add-on (pods' resolv.conf still names --dns-ip, as kubelets write it); default on")
  .option(
    '--control-plane-node',
    "register a control-plane Node (kubeadm's label and NoSchedule taint) whose static pods show etcd, the api-server, the controller-managers and the schedulers (default off)",
  )
  .option('--etcd-members <n>', 'etcd members: 1 (default) or 3 (etcd, etcd-2, etcd-3; one can die and nothing is lost)')
  .option('--dns-legacy-names', 'the cluster DNS also answers <service>.<namespace>.<domain>, the form before Kubernetes 1.2 (default off, as today)')
  .action(async (o: UpOptions) => {
    if (o.profile !== undefined && !isProfile(o.profile)) throw new KemuError(`--profile: "${o.profile}" is not one of ${PROFILES.join(', ')}`);
    if (o.ipvsScheduler !== undefined && !isIpvsScheduler(o.ipvsScheduler))
      throw new KemuError(`--ipvs-scheduler: "${o.ipvsScheduler}" is not one of ${IPVS_SCHEDULERS.join(', ')}`);
    if (o.backend !== undefined && !['host-gw', 'vxlan'].includes(o.backend)) throw new Error(`--backend: "${o.backend}" is not one of host-gw, vxlan`);
    if (o.proxyMode !== undefined && !isProxyMode(o.proxyMode)) throw new KemuError(`--proxy-mode: "${o.proxyMode}" is not one of ${PROXY_MODES.join(', ')}`);
    const c = cluster({
      ...(o.nodes !== undefined ? { nodes: Number(o.nodes) } : {}),
      ...(o.backend ? { backend: o.backend } : {}),
      ...(o.proxyMode ? { proxyMode: o.proxyMode } : {}),
      ...(o.ipvsScheduler ? { ipvsScheduler: o.ipvsScheduler } : {}),
      ...(o.lbRange !== undefined ? { lbRange: o.lbRange } : {}),
      ...(o.profile !== undefined && isProfile(o.profile) ? { profile: o.profile } : {}),
      settings: settingsOf(o),
    });
    console.log(`Bringing up cluster "${c.project}" from ${c.composeFile}`);
    const d = docker(c, {
      nodes: o.nodes !== undefined ? Number(o.nodes) : undefined,
      backend: o.backend,
      proxyMode: o.proxyMode,
      ipvsScheduler: o.ipvsScheduler,
      lbRange: o.lbRange,
      settings: settingsOf(o),
    });
    const r = d ? await d.up() : await c.up();
    if (r === 'already-running') console.log(`Cluster "${c.project}" is already running; nothing to do.`);
    console.log(usage(c));
  });

program
  .command('down')
  .description('remove every process, namespace, interface and file the cluster made')
  .action(async () => {
    const c = cluster();
    const d = docker(c);
    const removed = d ? await d.down() : await c.down();
    if (!removed.length) console.log(`No cluster "${c.project}" here; nothing to remove.`);
    else console.log(`Removed cluster "${c.project}": ${removed.join(', ')}`);
  });

program
  .command('stop [services...]')
  .description('stop every process, keeping all data; or only the services named (they stay stopped: no restart policy undoes it)')
  .action(async (services: string[]) => {
    const c = cluster();
    if (services.length) {
      if (!c.record) throw new KemuError(`No cluster "${c.project}" here.`);
      await c.stopServices(services);
      console.log(`Stopped ${services.join(', ')}.`);
      return;
    }
    const d = docker(c);
    console.log((await (d ?? c).stop()) ? `Stopped cluster "${c.project}" (data kept; kemu start brings it back).` : `No cluster "${c.project}" here.`);
  });

program
  .command('start [services...]')
  .description('start a stopped cluster again; or only the services named')
  .action(async (services: string[]) => {
    const c = cluster();
    if (!c.record) throw new KemuError(`No cluster "${c.project}" here: use kemu up`);
    if (services.length) {
      const started = c.startServices(services);
      for (const [i, s] of services.entries()) console.log(started[i] ? `Started ${s}.` : `${s} is already running.`);
      return;
    }
    const d = docker(c);
    const r = d ? await d.start() : await c.up();
    console.log(r === 'already-running' ? `Cluster "${c.project}" is already running.` : usage(c));
  });

program
  .command('status')
  .description('what runs where')
  .action(async () => {
    const c = cluster();
    if (!c.record) {
      console.log(`No cluster "${c.project}" here.`);
      return;
    }
    const d = docker(c);
    if (d) return console.log(formatDockerStatus(await d.status()));
    const rows = c.status();
    const w = Math.max(7, ...rows.map((r) => r.service.length)) + 2;
    // RESTARTS last: scripts that read the first columns (SERVICE STATE PID ADDRESS) read them as before.
    console.log(`${'SERVICE'.padEnd(w)}${'STATE'.padEnd(12)}${'PID'.padEnd(9)}${'ADDRESS'.padEnd(16)}RESTARTS`);
    for (const r of rows)
      console.log(`${r.service.padEnd(w)}${r.state.padEnd(12)}${String(r.pid ?? '-').padEnd(9)}${(r.address ?? '').padEnd(16)}${r.restarts}`);
    console.log(`\nkube-proxy mode: ${c.proxyMode}${proxyModeDetail(c)}`);
    console.log(`cluster: ${describeSettings(c.settings)}`);
    const nodes = c.proxyDataPaths().map((p) => p.node);
    const lb = lbAnnouncements(c.project, nodes);
    if (lb.length) console.log(`LoadBalancer addresses (ARP answered by): ${lb.map((a) => `${a.ip} ${a.node}`).join(', ')}`);
  });

/** " (userspace data path, scheduler rr)" and the like, from what the proxies logged; '' for the kernel modes. */
function proxyModeDetail(c: Cluster): string {
  if (c.proxyMode !== 'userspace' && c.proxyMode !== 'ipvs') return '';
  const paths = c.proxyDataPaths().filter((p) => p.dataPath);
  const p = paths[0];
  if (!p) return ` (scheduler ${c.ipvsScheduler})`;
  return ` (${p.dataPath} data path, scheduler ${p.scheduler ?? c.ipvsScheduler}${p.fallback ? `: ${p.fallback.split(';')[0]}` : ''})`;
}

/** Where the compose file tells the api-server to write its audit log, inside its container. */
const AUDIT_LOG = '/var/lib/kemu/logs/audit.log';

program
  .command('logs <service>')
  .description("print a service's log (audit: the api-server's audit log)")
  .option('-f, --follow', 'keep printing as it grows')
  .action(async (svc: string, o: { follow?: boolean }) => {
    const c = cluster();
    const d = docker(c);
    // The api-server's audit log (--audit-log-path) lies beside the services' logs, in the api-server's state.
    if (d && svc === 'audit') return void (process.exitCode = await d.exec('apiserver', o.follow ? ['tail', '-n', '+1', '-f', AUDIT_LOG] : ['cat', AUDIT_LOG]));
    if (d) return d.logs(svc, !!o.follow);
    const f = join(c.state, 'logs', `${svc}.log`);
    if (!existsSync(f)) throw new KemuError(`no log for "${svc}" in cluster "${c.project}"`);
    if (o.follow) spawnSync('tail', ['-n', '+1', '-f', f], { stdio: 'inherit' });
    else process.stdout.write(readFileSync(f));
  });

program
  .command('exec <target> [command...]')
  .description("run a command inside a service's (or node's) network namespace")
  .action(async (target: string, command: string[]) => {
    const c = cluster();
    const d = docker(c);
    if (d) return void (process.exitCode = await d.exec(target, command));
    if (!nsExists(serviceNs(c.project, target))) throw new KemuError(`no namespace for "${target}" in cluster "${c.project}"`);
    const argv = command.length ? command : ['sh'];
    const r = spawnSync('ip', ['netns', 'exec', serviceNs(c.project, target), ...argv], { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  });

program
  .command('kubeconfig')
  .description('print the kubeconfig of the cluster')
  .action(() => {
    const c = cluster();
    if (!existsSync(c.kubeconfigPath)) throw new KemuError(`No cluster "${c.project}" here: use kemu up`);
    process.stdout.write(readFileSync(c.kubeconfigPath));
  });

program
  .command('init')
  .description("make the certificates, tokens and kubeconfig (run by the compose file's init service)")
  .requiredOption('--state <dir>', 'state directory')
  .requiredOption('--apiserver <ip>', "the api-server's address")
  .option('--service-cidr <cidr>', 'the service range (the certificate names its first address, the kubernetes Service)', '10.96.0.0/12')
  .option('--cluster-domain <domain>', 'the cluster domain (the certificate names kubernetes.default.svc.DOMAIN)', 'cluster.local')
  .action(async (o: { state: string; apiserver: string; serviceCidr: string; clusterDomain: string }) => {
    const r = await init({ state: o.state, apiserver: o.apiserver, serviceCIDR: o.serviceCidr, clusterDomain: o.clusterDomain });
    console.log(r.created ? `credentials written to ${o.state}` : `credentials already in ${o.state}`);
  });

program
  .command('build')
  .description('build the image the Docker driver runs (kemu:dev): from this built tree where it fits, else from the sources')
  .option('--from <host|source>', "host: copy this host's built tree (seconds); source: npm ci and the build in the image (minutes)")
  .action(async (o: { from?: string }) => void (await buildImageCommand(REPO_ROOT, o.from)));

registerChaos(program, () => cluster());

// `kemu status | head` closes our stdout early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});

program.parseAsync().catch((e) => {
  console.error(e instanceof KemuError ? `kemu: ${e.message}` : e);
  process.exit(1);
});
