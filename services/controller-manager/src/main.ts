#!/usr/bin/env node
/** kemu-controller-manager: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { componentFlags, leaderElectFlags, leaderElectOptions, stopOnSignals, type LeaderElectFlagValues } from '@kemu/client';
import { parseDuration } from '@kemu/api';
import { start } from './server.js';

const o = leaderElectFlags(componentFlags(new Command('kemu-controller-manager'), 10257))
  .option('--node-monitor-period <duration>', "how often the node lifecycle controller looks at every node's heartbeat", '5s')
  .option('--node-monitor-grace-period <duration>', 'how long a node may go without a heartbeat before it is marked NotReady (Unknown)', '40s')
  .option('--controllers <list>', 'comma-separated controllers to run (default all)')
  .option('--root-ca-file <file>', 'CA published to every namespace as kube-root-ca.crt (default: --ca-file)')
  .option(
    '--lb-range <ranges>',
    'LoadBalancer address pool: CIDRs or a.b.c.d-a.b.c.e ranges, comma-separated (default: the last /24 of --node-cidr less .0 and .255, e.g. 172.28.255.1-172.28.255.254)',
  )
  .option('--cluster-cidr <cidr>', 'the pod network; node IPAM gives every node a /24 of it', '10.244.0.0/16')
  .option('--cluster-signing-cert-file <file>', "the CA certificate csrsigning signs the api-server client certificates (kubelets' among them) with")
  .option('--cluster-signing-key-file <file>', 'its key')
  .option('--cluster-signing-duration <duration>', 'the longest a certificate csrsigning signs is valid', '8760h0m0s')
  .option('--node-cidr <cidr>', "the node network, the base of the default --lb-range (default: the /16 around --apiserver's address)")
  .option(
    '--use-service-account-credentials <bool>',
    'run every controller under its own service account in kube-system, with a token from the TokenRequest API (as kubeadm runs kube-controller-manager)',
    'true',
  )
  .parse()
  .opts<
    LeaderElectFlagValues & {
      apiserver: string;
      caFile: string;
      tokenFile: string;
      port: string;
      nodeMonitorPeriod: string;
      nodeMonitorGracePeriod: string;
      controllers?: string;
      rootCaFile?: string;
      lbRange?: string;
      nodeCidr?: string;
      clusterCidr: string;
      clusterSigningCertFile?: string;
      clusterSigningKeyFile?: string;
      clusterSigningDuration: string;
      useServiceAccountCredentials: string;
    }
  >();
const log = pino({ name: 'controller-manager', level: process.env.LOG_LEVEL ?? 'info' });
const cm = await start(
  {
    apiserver: o.apiserver,
    caFile: o.caFile,
    tokenFile: o.tokenFile,
    port: Number(o.port),
    ...leaderElectOptions(o),
    nodeMonitorPeriodMs: parseDuration(o.nodeMonitorPeriod),
    nodeMonitorGracePeriodMs: parseDuration(o.nodeMonitorGracePeriod),
    controllers: o.controllers?.split(','),
    rootCAFile: o.rootCaFile,
    lbRange: o.lbRange,
    nodeCIDR: o.nodeCidr,
    clusterCIDR: o.clusterCidr,
    clusterSigning:
      o.clusterSigningCertFile && o.clusterSigningKeyFile
        ? { certFile: o.clusterSigningCertFile, keyFile: o.clusterSigningKeyFile, durationSeconds: parseDuration(o.clusterSigningDuration) / 1000 }
        : undefined,
    useServiceAccountCredentials: o.useServiceAccountCredentials !== 'false',
  },
  log,
);
log.info({ identity: cm.identity, port: cm.port }, 'controller-manager running');
stopOnSignals(cm, log);
