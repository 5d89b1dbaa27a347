#!/usr/bin/env node
/** kemu-kubelet: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { componentFlags, stopOnSignals } from '@kemu/client';
import { parseDuration } from '@kemu/api';
import { start } from './server.js';
import { spawnSync } from 'node:child_process';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Taint } from 'kubernetes-types/core/v1.js';

function eth0Address(): string {
  const all = Object.values(networkInterfaces()).flat();
  return (networkInterfaces().eth0 ?? all).find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
}

/** The parsed flags, as commander names them (values are strings unless the flag takes none). */
interface KubeletFlags {
  apiserver: string;
  caFile: string;
  tokenFile?: string;
  bootstrapTokenFile?: string;
  certDir?: string;
  port: string;
  nodeName?: string;
  nodeIp?: string;
  cpu?: string;
  memory?: string;
  maxPods: string;
  controlPlane?: boolean;
  runPods?: boolean;
  netns?: string;
  podNsPrefix: string;
  stateDir: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
  anonymousAuth: string;
  authenticationTokenWebhook: string;
  authorizationMode: string;
  networkBackend: string;
  kubeletPort: string;
  nodeLeaseDurationSeconds: string;
  nodeStatusUpdateFrequency: string;
  nodeLabels?: string;
  registerWithTaints?: string;
  podManifestPath?: string;
  fileCheckFrequency: string;
  clusterDns?: string;
  clusterDomain?: string;
  clusterCidr?: string;
  endpointDrainTimeout: string;
}

/** --node-labels `k=v,k2=v2`. */
function parseLabels(s: string | undefined): Record<string, string> | undefined {
  if (!s) return undefined;
  return Object.fromEntries(
    s.split(',').map((kv) => {
      const i = kv.indexOf('=');
      return i < 0 ? [kv.trim(), ''] : [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
    }),
  );
}

/** --register-with-taints `key=value:Effect,key:Effect`, as the kubelet parses it. */
function parseTaints(s: string | undefined): Taint[] | undefined {
  if (!s) return undefined;
  return s.split(',').map((t) => {
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(t.trim());
    if (!m) throw new Error(`--register-with-taints: invalid taint spec: ${t}`);
    return { key: m[1], ...(m[2] ? { value: m[2] } : {}), effect: m[3] };
  });
}

/** --authorization-mode: the kubelet knows AlwaysAllow and Webhook. */
function authzMode(s: string): 'AlwaysAllow' | 'Webhook' {
  if (s === 'AlwaysAllow' || s === 'Webhook') return s;
  throw new Error(`--authorization-mode: unknown authorization mode ${s} (AlwaysAllow or Webhook)`);
}

const o = componentFlags(new Command('kemu-kubelet'), 10248)
  .option('--node-name <name>', 'the Node to register (default: $NODE_NAME, else the hostname)')
  .option('--node-ip <ip>', "the node's InternalIP (default: $NODE_IP, else eth0's address)")
  .option('--cpu <cores>', 'cpu capacity (default: this machine)')
  .option('--memory <bytes>', 'memory capacity in bytes (default: this machine)')
  .option('--max-pods <n>', 'pods capacity', '110')
  .option('--control-plane', 'label the node as control-plane')
  .option('--run-pods', 'run the pods bound to this node (needs --netns)')
  .option('--netns <name>', "the node's network namespace name (default: $NODE_NETNS, else this namespace is named kemu-node)")
  .option('--pod-ns-prefix <prefix>', 'prefix of pod network namespace names', 'kemu-p-')
  .option('--state-dir <dir>', 'where pod state goes', '/var/lib/kemu-kubelet')
  .option('--bootstrap-token-file <file>', 'a bootstrap token to ask for a client certificate with (TLS bootstrapping), when --cert-dir has none')
  .option(
    '--cert-dir <dir>',
    "where the kubelet keeps its client certificate (kubelet-client-current.pem; default: the node's directory under --state-dir, pki/)",
  )
  .option('--tls-cert-file <file>', 'serving certificate of the kubelet API (port 10250)')
  .option('--tls-private-key-file <file>', 'serving key of the kubelet API')
  .option('--client-ca-file <file>', 'CA of the clients the kubelet API accepts (the api-server)')
  .option('--anonymous-auth <bool>', 'kubelet API requests without credentials are system:anonymous (false: 401)', 'false')
  .option('--authentication-token-webhook <bool>', "the kubelet API checks bearer tokens with the api-server's TokenReview", 'true')
  .option('--authorization-mode <mode>', 'kubelet API authorization: Webhook (SubjectAccessReview) or AlwaysAllow', 'Webhook')
  .option('--network-backend <backend>', 'how pods on different nodes reach each other: host-gw or vxlan', 'host-gw')
  .option('--kubelet-port <port>', 'port of the kubelet API (logs, exec, attach, port-forward)', '10250')
  .option('--node-lease-duration-seconds <n>', "the node Lease's duration; it is renewed every quarter of it", '40')
  .option('--node-status-update-frequency <duration>', 'how often the node status is posted once the node is Ready', '10s')
  .option('--cluster-dns <ip>', "the cluster DNS's address, pods' nameserver (default 10.96.0.10)")
  .option('--cluster-domain <domain>', "the cluster domain, pods' DNS search path (default cluster.local)")
  .option('--cluster-cidr <cidr>', "the pod network: pods' traffic to anything else is masqueraded (default 10.244.0.0/16)")
  .option('--node-labels <labels>', 'labels to add when registering the node (key=value,...)')
  .option('--register-with-taints <taints>', 'taints the node is registered with (key=value:Effect,...)')
  .option('--pod-manifest-path <dir>', 'static pods: their mirror pods are kept in the API and their processes observed')
  .option('--file-check-frequency <duration>', 'between two reads of the static pod manifests and probes of their processes', '2s')
  .option(
    '--endpoint-drain-timeout <duration>',
    "kemu's own: how long a deleted pod that is a ready Service endpoint (and has no preStop hook) may wait for kube-proxy to take it out of its rules before its containers are signalled; 0s signals at once, as Kubernetes does",
    '5s',
  )
  .parse()
  .opts<KubeletFlags>();
const log = pino({ name: 'kubelet', level: process.env.LOG_LEVEL ?? 'info' });
const nodeName: string = o.nodeName ?? process.env.NODE_NAME ?? hostname();
const nodeIP: string = o.nodeIp ?? process.env.NODE_IP ?? eth0Address();
let netns: string | undefined = o.netns ?? process.env.NODE_NETNS;
if (o.runPods && !netns) {
  // A container of its own (docker compose): give our namespace a name so `ip -n` can reach it.
  netns = 'kemu-node';
  spawnSync('ip', ['netns', 'attach', netns, String(process.pid)]);
}
const k = await start(
  {
    apiserver: o.apiserver,
    caFile: o.caFile,
    tokenFile: o.tokenFile,
    bootstrap: o.bootstrapTokenFile ? { tokenFile: o.bootstrapTokenFile, certDir: o.certDir ?? join(o.stateDir, nodeName, 'pki') } : undefined,
    nodeName,
    nodeIP,
    cpu: o.cpu ? Number(o.cpu) : undefined,
    memoryBytes: o.memory ? Number(o.memory) : undefined,
    maxPods: Number(o.maxPods),
    nodeLeaseDurationSeconds: Number(o.nodeLeaseDurationSeconds),
    statusSeconds: parseDuration(o.nodeStatusUpdateFrequency) / 1000,
    port: Number(o.port),
    controlPlane: !!o.controlPlane,
    labels: parseLabels(o.nodeLabels),
    taints: parseTaints(o.registerWithTaints),
    staticPods: o.podManifestPath
      ? { dir: o.podManifestPath, periodMs: parseDuration(o.fileCheckFrequency), token: o.tokenFile ? readFileSync(o.tokenFile, 'utf8').trim() : undefined }
      : undefined,
    runPods: o.runPods
      ? {
          netns: netns!,
          podNsPrefix: o.podNsPrefix,
          stateDir: join(o.stateDir, nodeName),
          backend: o.networkBackend === 'vxlan' ? 'vxlan' : 'host-gw',
          clusterDNS: o.clusterDns,
          clusterDomain: o.clusterDomain,
          clusterCIDR: o.clusterCidr,
          endpointDrainMs: parseDuration(o.endpointDrainTimeout),
        }
      : undefined,
    api:
      o.tlsCertFile && o.tlsPrivateKeyFile && o.clientCaFile
        ? {
            port: Number(o.kubeletPort),
            certFile: o.tlsCertFile,
            keyFile: o.tlsPrivateKeyFile,
            caFile: o.clientCaFile,
            auth: {
              anonymous: o.anonymousAuth === 'true',
              tokenWebhook: o.authenticationTokenWebhook === 'true',
              authorizationMode: authzMode(o.authorizationMode),
            },
          }
        : undefined,
  },
  log,
);
log.info({ node: nodeName, ip: nodeIP, port: k.port }, 'kubelet running');
stopOnSignals(k, log);
