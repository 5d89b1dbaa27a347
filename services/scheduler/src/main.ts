#!/usr/bin/env node
/** kemu-scheduler: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { start } from './server.js';

const o = new Command('kemu-scheduler')
  .requiredOption('--apiserver <host:port>', "the api-server's gRPC address")
  .requiredOption('--ca-file <file>', 'CA of the api-server certificate')
  .requiredOption('--token-file <file>', 'bearer token')
  .option('--port <port>', '/healthz and /metrics port', '10259')
  .option('--leader-elect <bool>', 'elect a leader through a Lease', 'true')
  .parse()
  .opts();
const log = pino({ name: 'scheduler', level: process.env.LOG_LEVEL ?? 'info' });
const cm = await start({ apiserver: o.apiserver, caFile: o.caFile, tokenFile: o.tokenFile, port: Number(o.port), leaderElect: o.leaderElect !== 'false' }, log);
log.info({ identity: cm.identity, port: cm.port }, 'scheduler running');
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void cm.stop().then(() => process.exit(0)));
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
