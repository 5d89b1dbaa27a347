#!/usr/bin/env node
/** kemu-kubelet: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { componentFlags, stopOnSignals } from '@kemu/client';
import { start } from './server.js';

const o = componentFlags(new Command('kemu-kubelet'), 10248)
  .requiredOption('--node-name <name>', 'the Node to register')
  .requiredOption('--node-ip <ip>', "the node's InternalIP")
  .option('--cpu <cores>', 'cpu capacity (default: this machine)')
  .option('--memory <bytes>', 'memory capacity in bytes (default: this machine)')
  .option('--max-pods <n>', 'pods capacity', '110')
  .option('--control-plane', 'label the node as control-plane')
  .option('--run-pods', 'run the pods bound to this node (needs --netns)')
  .option('--netns <name>', "the node's network namespace name")
  .option('--pod-ns-prefix <prefix>', 'prefix of pod network namespace names', 'kemu-p-')
  .option('--state-dir <dir>', 'where pod state goes', '/var/lib/kemu-kubelet')
  .parse()
  .opts();
const log = pino({ name: 'kubelet', level: process.env.LOG_LEVEL ?? 'info' });
const k = await start(
  { apiserver: o.apiserver, caFile: o.caFile, tokenFile: o.tokenFile, nodeName: o.nodeName, nodeIP: o.nodeIp, cpu: o.cpu ? Number(o.cpu) : undefined, memoryBytes: o.memory ? Number(o.memory) : undefined, maxPods: Number(o.maxPods), port: Number(o.port), controlPlane: !!o.controlPlane, runPods: o.runPods ? { netns: o.netns, podNsPrefix: o.podNsPrefix, stateDir: o.stateDir } : undefined },
  log,
);
log.info({ node: o.nodeName, port: k.port }, 'kubelet running');
stopOnSignals(k, log);
