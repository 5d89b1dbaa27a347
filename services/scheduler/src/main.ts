#!/usr/bin/env node
/** kemu-scheduler: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { componentFlags, stopOnSignals, type ComponentFlagValues } from '@kemu/client';
import { start } from './server.js';

const o = componentFlags(new Command('kemu-scheduler'), 10259)
  .option('--leader-elect <bool>', 'elect a leader through a Lease', 'true')
  .parse()
  .opts<ComponentFlagValues & { leaderElect: string }>();
const log = pino({ name: 'scheduler', level: process.env.LOG_LEVEL ?? 'info' });
const s = await start({ apiserver: o.apiserver, caFile: o.caFile, tokenFile: o.tokenFile, port: Number(o.port), leaderElect: o.leaderElect !== 'false' }, log);
log.info({ identity: s.identity, port: s.port }, 'scheduler running');
stopOnSignals(s, log);
