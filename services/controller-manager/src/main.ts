#!/usr/bin/env node
/** kemu-controller-manager: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { start } from './server.js';

const o = new Command('kemu-controller-manager')
  .requiredOption('--apiserver <host:port>', "the api-server's gRPC address")
  .requiredOption('--ca-file <file>', 'CA of the api-server certificate')
  .requiredOption('--token-file <file>', 'bearer token')
  .option('--port <port>', '/healthz and /metrics port', '10257')
  .option('--leader-elect <bool>', 'elect a leader through a Lease', 'true')
  .option('--controllers <list>', 'comma-separated controllers to run (default all)')
  .parse()
  .opts();
const log = pino({ name: 'controller-manager', level: process.env.LOG_LEVEL ?? 'info' });
const cm = await start(
  { apiserver: o.apiserver, caFile: o.caFile, tokenFile: o.tokenFile, port: Number(o.port), leaderElect: o.leaderElect !== 'false', controllers: o.controllers?.split(',') },
  log,
);
log.info({ identity: cm.identity, port: cm.port }, 'controller-manager running');
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void cm.stop().then(() => process.exit(0)));
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
