#!/usr/bin/env node
/**
 * kemu-dns: flags (or a Corefile) → options → start. It stands in for the
 * CoreDNS image, so it takes CoreDNS's own `-conf <Corefile>` too; flags given
 * explicitly win over the Corefile.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { pino } from 'pino';
import { stopOnSignals } from '@kemu/client/rest';
import { parseCorefile, type CorefileSettings } from './corefile.js';
import type { PodMode } from './core/dns-index.js';
import { start, type DnsOptions } from './dns.js';

// CoreDNS spells its flag with one dash.
const argv = process.argv.map((a) => (a === '-conf' ? '--conf' : a.startsWith('-conf=') ? `-${a}` : a));
const o = new Command('kemu-dns')
  .option('--conf <file>', 'a CoreDNS Corefile to take the zone, ttl, pods mode, forward and ports from')
  .option('--apiserver <host:port>', "the api-server's gRPC address (default: in-cluster REST with the pod's service account)")
  .option('--ca-file <file>', 'CA of the api-server certificate (with --apiserver)')
  .option('--token-file <file>', 'bearer token (with --apiserver)')
  .option('--address <ip>', 'DNS listen address', '0.0.0.0')
  .option('--port <port>', 'DNS port, UDP and TCP (default 53)')
  .option('--health-port <port>', '/health port (default 8080)')
  .option('--ready-port <port>', '/ready port (default 8181)')
  .option('--metrics-port <port>', '/metrics port (default 9153)')
  .option('--zone <domain>', 'cluster domain (default cluster.local)')
  .option('--ttl <seconds>', 'TTL of answers (default 5)')
  .option('--pods <mode>', 'pod records: verified | insecure | disabled (default verified)')
  .option('--legacy-names', 'also answer <service>.<namespace>.<zone> (before Kubernetes 1.2)')
  .option('--resolv-conf <file>', 'upstream resolvers for names outside the cluster (default /etc/resolv.conf)')
  .option('--upstream <ip[:port]...>', 'upstream resolvers instead of resolv.conf')
  .option('--forward-timeout <ms>', 'time each upstream gets (default 2000)')
  .option('--dns-service-ip <ip...>', 'addresses of this DNS service, never forwarded to (default 10.96.0.10)')
  .parse(argv)
  .opts<Record<string, string | string[] | boolean | undefined>>();

const str = (k: string): string | undefined => {
  const v = o[k];
  return typeof v === 'string' ? v : undefined;
};
const num = (k: string) => (str(k) === undefined ? undefined : Number(str(k)));
const list = (k: string): string[] | undefined => {
  const v = o[k];
  return Array.isArray(v) ? v : undefined;
};
if (str('pods') !== undefined && !['verified', 'insecure', 'disabled'].includes(str('pods')!)) {
  process.stderr.write(`kemu-dns: --pods must be verified, insecure or disabled, not ${str('pods')}\n`);
  process.exit(2);
}
const conf: CorefileSettings = str('conf') ? parseCorefile(readFileSync(str('conf')!, 'utf8')) : {};
const forward = conf.forward;

const options: DnsOptions = {
  apiserver: str('apiserver'),
  caFile: str('caFile'),
  tokenFile: str('tokenFile'),
  address: str('address'),
  port: num('port') ?? conf.port,
  healthPort: num('healthPort') ?? conf.healthPort,
  readyPort: num('readyPort') ?? conf.readyPort,
  metricsPort: num('metricsPort') ?? conf.metricsPort,
  zone: str('zone') ?? conf.zone,
  ttl: num('ttl') ?? conf.ttl,
  podMode: (str('pods') as PodMode | undefined) ?? conf.podMode,
  legacyNames: o.legacyNames === true,
  // A Corefile without `forward` forwards nothing, as in CoreDNS: no upstream, a fast SERVFAIL for other names.
  resolvConf: str('resolvConf') ?? (forward && 'resolvConf' in forward ? forward.resolvConf : str('conf') && !forward ? '' : undefined),
  upstreams: list('upstream') ?? (forward && 'upstreams' in forward ? forward.upstreams : undefined),
  forwardTimeoutMs: num('forwardTimeout'),
  dnsServiceIPs: list('dnsServiceIp'),
};
const log = pino({ name: 'dns', level: process.env.LOG_LEVEL ?? 'info' });
try {
  stopOnSignals(await start(options, log), log);
} catch (err) {
  log.error({ err }, 'dns failed to start');
  process.exit(1);
}
