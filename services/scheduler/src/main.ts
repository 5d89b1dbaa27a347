#!/usr/bin/env node
/** kemu-scheduler: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { componentFlags, leaderElectFlags, leaderElectOptions, stopOnSignals, type ComponentFlagValues, type LeaderElectFlagValues } from '@kemu/client';
import { start } from './server.js';

const o = leaderElectFlags(componentFlags(new Command('kemu-scheduler'), 10259))
  .parse()
  .opts<ComponentFlagValues & LeaderElectFlagValues>();
const log = pino({ name: 'scheduler', level: process.env.LOG_LEVEL ?? 'info' });
const s = await start({ apiserver: o.apiserver, caFile: o.caFile, tokenFile: o.tokenFile, port: Number(o.port), ...leaderElectOptions(o) }, log);
log.info({ identity: s.identity, port: s.port }, 'scheduler running');
stopOnSignals(s, log);
