#!/usr/bin/env node
/**
 * kemu-proxy: flags → options → start (kube-proxy's flag names). `--cleanup`
 * removes every rule any mode wrote and exits; `kemu-proxy rules FILE` prints
 * rules without touching the kernel.
 */
import { networkInterfaces } from 'node:os';
import { Command } from 'commander';
import { pino } from 'pino';
import { stopOnSignals } from '@kemu/client';
import { rulesCommand } from './rules-command.js';
import { PROXY_MODES, cleanup, start, type ProxyMode } from './server.js';
import { startSpeaker } from './speaker/run.js';
import { IPTABLES_BACKENDS, type IptablesBackend } from './runtime/backend.js';
import { SCHEDULER_NAMES, type SchedulerName } from './userspace/schedulers.js';

function eth0Address(): string | undefined {
  const all = Object.values(networkInterfaces()).flat();
  return (networkInterfaces().eth0 ?? all).find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

/** "1s", "500ms", "2m" or plain seconds → milliseconds (Go durations, as kube-proxy's flags take). */
function duration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`invalid duration "${s}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** What the flags parse to (commander's opts are untyped). */
interface ProxyFlags {
  apiserver?: string;
  caFile?: string;
  tokenFile?: string;
  hostnameOverride?: string;
  nodeIp?: string;
  proxyMode: string;
  iptablesBackend: string;
  ipvsScheduler: string;
  udpTimeout: string;
  clusterCidr: string;
  serviceClusterIpRange: string;
  minSyncPeriod: string;
  syncPeriod: string;
  healthzPort: string;
  metricsPort: string;
  cleanup?: boolean;
}

if (process.argv[2] === 'rules') {
  process.exitCode = rulesCommand(process.argv.slice(2));
} else {
  const o = new Command('kemu-proxy')
    .option('--apiserver <host:port>', "the api-server's gRPC address")
    .option('--ca-file <file>', 'CA of the api-server certificate')
    .option('--token-file <file>', 'bearer token (system:kube-proxy)')
    .option('--hostname-override <name>', 'the Node this proxy programs (default: $NODE_NAME)')
    .option('--node-ip <ip>', "the node's address (default: $NODE_IP, else the Node's InternalIP)")
    .option('--proxy-mode <mode>', `data path: ${PROXY_MODES.join(', ')}`, 'iptables')
    .option(
      '--iptables-backend <backend>',
      `iptables mode: auto (the one the node already uses, nft on an empty node), ${IPTABLES_BACKENDS.join(', ')}`,
      process.env.KEMU_IPTABLES_BACKEND ?? 'auto',
    )
    .option('--ipvs-scheduler <name>', `the IPVS scheduler of the ipvs and userspace modes: ${SCHEDULER_NAMES.join(', ')}`, 'rr')
    .option('--udp-timeout <duration>', 'how long an idle UDP session of the userspace data path lives', '250ms')
    .option('--cluster-cidr <cidr>', 'the pod network: traffic from outside it to a ClusterIP is masqueraded', '10.244.0.0/16')
    .option('--service-cluster-ip-range <cidr>', 'the ClusterIP range', '10.96.0.0/12')
    .option('--min-sync-period <duration>', 'least time between two syncs', '1s')
    .option('--sync-period <duration>', 'a sync at least this often (in iptables mode full only when its canary chains were removed; full hourly)', '30s')
    .option('--healthz-port <port>', '/healthz port', '10256')
    .option('--metrics-port <port>', '/metrics port', '10249')
    .option('--cleanup', 'remove every rule kube-proxy wrote (all modes) and exit')
    .parse()
    .opts<ProxyFlags>();
  const log = pino({ name: 'kube-proxy', level: process.env.LOG_LEVEL ?? 'info' });
  if (o.cleanup) {
    const r = await cleanup();
    log.info(r, 'cleaned up');
  } else {
    const mode = PROXY_MODES.find((m): m is ProxyMode => m === o.proxyMode);
    if (!mode) {
      log.error({ mode: o.proxyMode }, `unknown proxy mode (one of ${PROXY_MODES.join(', ')})`);
      process.exit(2);
    }
    const backend = ['auto', ...IPTABLES_BACKENDS].find((b): b is IptablesBackend | 'auto' => b === o.iptablesBackend);
    if (!backend) {
      log.error({ backend: o.iptablesBackend }, `unknown iptables backend (auto, ${IPTABLES_BACKENDS.join(', ')})`);
      process.exit(2);
    }
    const scheduler = SCHEDULER_NAMES.find((s): s is SchedulerName => s === o.ipvsScheduler);
    if (!scheduler) {
      log.error({ scheduler: o.ipvsScheduler }, `unknown IPVS scheduler (one of ${SCHEDULER_NAMES.join(', ')})`);
      process.exit(2);
    }
    const nodeName = o.hostnameOverride ?? process.env.NODE_NAME;
    if (!o.apiserver || !o.caFile || !o.tokenFile || !nodeName) {
      log.error('--apiserver, --ca-file, --token-file and a node name (--hostname-override or $NODE_NAME) are required');
      process.exit(2);
    }
    const nodeIP = o.nodeIp ?? process.env.NODE_IP ?? eth0Address();
    try {
      const p = await start(
        {
          apiserver: o.apiserver,
          caFile: o.caFile,
          tokenFile: o.tokenFile,
          nodeName,
          nodeIP,
          mode,
          iptablesBackend: backend,
          ipvsScheduler: scheduler,
          udpIdleTimeoutMs: duration(o.udpTimeout),
          clusterCIDR: o.clusterCidr,
          serviceCIDR: o.serviceClusterIpRange,
          minSyncPeriodMs: duration(o.minSyncPeriod),
          syncPeriodMs: duration(o.syncPeriod),
          healthzPort: Number(o.healthzPort),
          metricsPort: Number(o.metricsPort),
        },
        log,
      );
      // `kemu status` reads dataPath, scheduler and fallback from this line.
      log.info(
        {
          node: nodeName,
          mode,
          dataPath: p.dataPath.dataPath,
          scheduler: p.dataPath.scheduler,
          fallback: p.dataPath.fallback,
          healthz: p.healthzPort,
          metrics: p.metricsPort,
        },
        'kube-proxy running',
      );
      // The node's side of LoadBalancer Services: ARP for the addresses it wins, health check NodePorts.
      const speaker = startSpeaker(
        { apiserver: o.apiserver, caFile: o.caFile, tokenFile: o.tokenFile, nodeName, nodeIP, registry: p.registry, proxyHealthy: () => p.healthy() },
        log.child({ component: 'speaker' }),
      );
      stopOnSignals({ stop: () => speaker.stop().then(() => p.stop()) }, log);
    } catch (err) {
      log.error({ err }, 'kube-proxy failed to start');
      process.exit(1);
    }
  }
}
