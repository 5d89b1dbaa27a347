#!/usr/bin/env node
/** kemu-netpol: flags → options → start. The NetworkPolicy agent of one node (see agent.ts). */
import { Command } from 'commander';
import { pino } from 'pino';
import { stopOnSignals } from '@kemu/client';
import { start } from './agent.js';

interface Flags {
  apiserver?: string;
  caFile?: string;
  tokenFile?: string;
  hostnameOverride?: string;
  minSyncPeriodMs: string;
  proxyMode: string;
  port: string;
}

const o = new Command('kemu-netpol')
  .option('--apiserver <host:port>', "the api-server's gRPC address")
  .option('--ca-file <file>', 'CA of the api-server certificate')
  .option('--token-file <file>', 'bearer token')
  .option('--hostname-override <name>', 'the Node whose pods this agent guards (default: $NODE_NAME)')
  .option('--proxy-mode <mode>', "kube-proxy's mode on this node: nftables writes an nftables table, the others iptables", 'iptables')
  .option('--min-sync-period-ms <ms>', 'least time between two syncs', '100')
  .option('--port <port>', '/healthz and /metrics port', '20244')
  .parse()
  .opts<Flags>();
const log = pino({ name: 'kemu-netpol', level: process.env.LOG_LEVEL ?? 'info' });
const nodeName = o.hostnameOverride ?? process.env.NODE_NAME;
if (!o.apiserver || !o.caFile || !o.tokenFile || !nodeName) {
  log.error('--apiserver, --ca-file, --token-file and a node name (--hostname-override or $NODE_NAME) are required');
  process.exit(2);
}
try {
  const a = await start(
    {
      apiserver: o.apiserver,
      caFile: o.caFile,
      tokenFile: o.tokenFile,
      nodeName,
      proxyMode: o.proxyMode,
      minSyncPeriodMs: Number(o.minSyncPeriodMs),
      port: Number(o.port),
    },
    log,
  );
  log.info({ node: nodeName, port: a.port }, 'network policy agent running');
  stopOnSignals(a, log);
} catch (err) {
  log.error({ err }, 'network policy agent failed to start');
  process.exit(1);
}
