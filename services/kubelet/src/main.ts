#!/usr/bin/env node
/** kemu-kubelet: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { start } from './server.js';

const o = new Command('kemu-kubelet')
  .requiredOption('--apiserver <host:port>', "the api-server's gRPC address")
  .requiredOption('--ca-file <file>', 'CA of the api-server certificate')
  .requiredOption('--token-file <file>', 'bearer token')
  .requiredOption('--node-name <name>', 'the Node to register')
  .requiredOption('--node-ip <ip>', "the node's InternalIP")
  .option('--cpu <cores>', 'cpu capacity (default: this machine)')
  .option('--memory <bytes>', 'memory capacity in bytes (default: this machine)')
  .option('--max-pods <n>', 'pods capacity', '110')
  .option('--port <port>', '/healthz port', '10248')
  .option('--control-plane', 'label the node as control-plane')
  .parse()
  .opts();
const log = pino({ name: 'kubelet', level: process.env.LOG_LEVEL ?? 'info' });
const k = await start(
  { apiserver: o.apiserver, caFile: o.caFile, tokenFile: o.tokenFile, nodeName: o.nodeName, nodeIP: o.nodeIp, cpu: o.cpu ? Number(o.cpu) : undefined, memoryBytes: o.memory ? Number(o.memory) : undefined, maxPods: Number(o.maxPods), port: Number(o.port), controlPlane: !!o.controlPlane },
  log,
);
log.info({ node: o.nodeName, port: k.port }, 'kubelet running');
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void k.stop().then(() => process.exit(0)));
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
