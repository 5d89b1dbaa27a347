#!/usr/bin/env node
/** kemu-apiserver: flags → options → start. */
import { Command } from 'commander';
import { pino } from 'pino';
import { stopOnSignals } from '@kemu/client';
import { start } from './server.js';

const program = new Command('kemu-apiserver')
  .option('--etcd-servers <urls>', 'comma-separated etcd client URLs', 'http://127.0.0.1:2379')
  .option('--etcd-cafile <file>', 'SSL Certificate Authority file used to secure etcd communication')
  .option('--etcd-certfile <file>', 'SSL certification file used to secure etcd communication')
  .option('--etcd-keyfile <file>', 'SSL key file used to secure etcd communication')
  .option('--encryption-provider-config <file>', 'the file containing configuration for encryption providers to be used for storing secrets in etcd')
  .option('--bind-address <ip>', 'address to listen on', '0.0.0.0')
  .option('--secure-port <port>', 'HTTPS port', '6443')
  .option('--grpc-port <port>', 'gRPC port for cluster components', '6444')
  .option('--advertise-address <ip>', 'address advertised to the cluster', '127.0.0.1')
  .requiredOption('--tls-cert-file <file>', 'serving certificate')
  .requiredOption('--tls-private-key-file <file>', 'serving key')
  .requiredOption('--client-ca-file <file>', 'CA for client certificates')
  .option('--token-auth-file <file>', 'static bearer tokens')
  .option('--enable-bootstrap-token-auth', 'authenticate bootstrap tokens (Secrets of type bootstrap.kubernetes.io/token in kube-system)')
  .option(
    '--bootstrap-token-file <file>',
    "kemu's: a bootstrap token (id.secret) the api-server keeps as a Secret in kube-system, as kubeadm init's bootstrap-token phase creates it",
  )
  .option('--service-cluster-ip-range <cidr>', 'Service IP range', '10.96.0.0/12')
  .option('--service-node-port-range <range>', 'NodePort range', '30000-32767')
  .option('--etcd-compaction-interval <seconds>', 'etcd compaction interval', '300')
  .option('--kubelet-client-certificate <file>', 'client certificate for kubelets')
  .option('--kubelet-client-key <file>', 'client key for kubelets')
  .option('--service-account-signing-key-file <file>', 'private key that signs service account tokens')
  .option('--service-account-issuer <url>', 'issuer of service account tokens', 'https://kubernetes.default.svc.cluster.local')
  .option('--default-not-ready-toleration-seconds <n>', 'the not-ready toleration DefaultTolerationSeconds gives a pod without one', '300')
  .option('--default-unreachable-toleration-seconds <n>', 'the unreachable toleration DefaultTolerationSeconds gives a pod without one', '300')
  .option('--audit-log-path <file>', 'append audit events (audit.k8s.io/v1 Event JSON lines) to this file')
  .option('--audit-policy-file <file>', 'audit.k8s.io/v1 Policy deciding what is audited (default: every request at Metadata)')
  .option('--audit-log-maxsize <mb>', 'rotate the audit log before it passes this many megabytes (0: 100, as lumberjack)', '0')
  .option('--audit-log-maxbackup <n>', 'how many rotated audit logs to keep (0: all)', '0')
  .option('--max-requests-inflight <n>', 'seats for non-mutating requests, shared by the priority levels with the mutating ones', '400')
  .option('--max-mutating-requests-inflight <n>', 'seats for mutating requests, shared by the priority levels with the others', '200')
  .parse();

/** The flags as commander parses them: strings, the required ones always present. */
interface Flags {
  etcdServers: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  encryptionProviderConfig?: string;
  bindAddress: string;
  securePort: string;
  grpcPort: string;
  advertiseAddress: string;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  clientCaFile: string;
  tokenAuthFile?: string;
  enableBootstrapTokenAuth?: boolean;
  bootstrapTokenFile?: string;
  serviceClusterIpRange: string;
  serviceNodePortRange: string;
  etcdCompactionInterval: string;
  kubeletClientCertificate?: string;
  kubeletClientKey?: string;
  serviceAccountSigningKeyFile?: string;
  serviceAccountIssuer: string;
  defaultNotReadyTolerationSeconds: string;
  defaultUnreachableTolerationSeconds: string;
  auditLogPath?: string;
  auditPolicyFile?: string;
  auditLogMaxsize: string;
  auditLogMaxbackup: string;
  maxRequestsInflight: string;
  maxMutatingRequestsInflight: string;
}

const o = program.opts<Flags>();
const log = pino({ name: 'apiserver', level: process.env.LOG_LEVEL ?? 'info' });
const server = await start(
  {
    etcdServers: o.etcdServers.split(','),
    etcdCAFile: o.etcdCafile,
    etcdCertFile: o.etcdCertfile,
    etcdKeyFile: o.etcdKeyfile,
    encryptionProviderConfig: o.encryptionProviderConfig,
    bindAddress: o.bindAddress,
    securePort: Number(o.securePort),
    grpcPort: Number(o.grpcPort),
    advertiseAddress: o.advertiseAddress,
    tlsCertFile: o.tlsCertFile,
    tlsKeyFile: o.tlsPrivateKeyFile,
    clientCAFile: o.clientCaFile,
    tokenAuthFile: o.tokenAuthFile,
    enableBootstrapTokenAuth: !!o.enableBootstrapTokenAuth,
    bootstrapTokenFile: o.bootstrapTokenFile,
    serviceClusterIPRange: o.serviceClusterIpRange,
    serviceNodePortRange: o.serviceNodePortRange,
    etcdCompactionIntervalSeconds: Number(o.etcdCompactionInterval),
    kubeletClientCertificate: o.kubeletClientCertificate,
    kubeletClientKey: o.kubeletClientKey,
    serviceAccountSigningKeyFile: o.serviceAccountSigningKeyFile,
    serviceAccountIssuer: o.serviceAccountIssuer,
    defaultTolerationSeconds: { notReady: Number(o.defaultNotReadyTolerationSeconds), unreachable: Number(o.defaultUnreachableTolerationSeconds) },
    auditLogPath: o.auditLogPath,
    auditPolicyFile: o.auditPolicyFile,
    auditLogMaxSizeMB: Number(o.auditLogMaxsize),
    auditLogMaxBackups: Number(o.auditLogMaxbackup),
    maxRequestsInflight: Number(o.maxRequestsInflight),
    maxMutatingRequestsInflight: Number(o.maxMutatingRequestsInflight),
  },
  log,
);
stopOnSignals(server, log);
