#!/usr/bin/env node
/** kemu-controller-manager: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { componentFlags, stopOnSignals } from '@kemu/client';
import { start } from './server.js';

const o = componentFlags(new Command('kemu-controller-manager'), 10257)
  .option('--leader-elect <bool>', 'elect a leader through a Lease', 'true')
  .option('--controllers <list>', 'comma-separated controllers to run (default all)')
  .option('--root-ca-file <file>', 'CA published to every namespace as kube-root-ca.crt (default: --ca-file)')
  .parse()
  .opts();
const log = pino({ name: 'controller-manager', level: process.env.LOG_LEVEL ?? 'info' });
const cm = await start({ apiserver: o.apiserver, caFile: o.caFile, tokenFile: o.tokenFile, port: Number(o.port), leaderElect: o.leaderElect !== 'false', controllers: o.controllers?.split(','), rootCAFile: o.rootCaFile }, log);
log.info({ identity: cm.identity, port: cm.port }, 'controller-manager running');
stopOnSignals(cm, log);
