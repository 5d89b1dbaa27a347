/**
 * api-server options: what the flags say, compiled into what `start` uses,
 * with Kubernetes' defaults.
 */
import { readFileSync } from 'node:fs';
import { formatIPv4, nthAddress, type DefaultTolerationSeconds } from '@kemu/api';
import { parseTokenFile, type UserInfo } from './http/auth.js';
import { parseEncryptionConfig, type EncryptionTransformers } from './storage/encryption-config.js';
import type { EtcdTLS } from './storage/etcd-store.js';

export interface ApiServerOptions {
  /** etcd client URLs. Default http://127.0.0.1:2379. */
  etcdServers?: string[];
  /** --etcd-cafile: the CA that signs etcd's serving certificates; with it, etcd is spoken to over TLS. */
  etcdCAFile?: string;
  /** --etcd-certfile / --etcd-keyfile: the api-server's client certificate for etcd (kubeadm's apiserver-etcd-client). */
  etcdCertFile?: string;
  etcdKeyFile?: string;
  /** --encryption-provider-config: an EncryptionConfiguration; without it nothing is encrypted at rest. */
  encryptionProviderConfig?: string;
  /** Address to listen on. Default 0.0.0.0. */
  bindAddress?: string;
  /** HTTPS port for the Kubernetes API. Default 6443. */
  securePort?: number;
  /** gRPC port for the cluster's components. Default 6444; 0 picks a free port. */
  grpcPort?: number;
  /** The address other components and the `kubernetes` Endpoints use. Default 127.0.0.1. */
  advertiseAddress?: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** CA that signs client certificates. */
  clientCAFile: string;
  /** Static tokens, kube-apiserver's --token-auth-file format. */
  tokenAuthFile?: string;
  /** --enable-bootstrap-token-auth: bootstrap tokens authenticate (system:bootstrap:<id>, group system:bootstrappers). */
  enableBootstrapTokenAuth?: boolean;
  /** kemu's: the node bootstrap token whose Secret the api-server keeps (kubeadm init creates it). */
  bootstrapTokenFile?: string;
  /** Default 10.96.0.0/12. */
  serviceClusterIPRange?: string;
  /** Default 30000-32767. */
  serviceNodePortRange?: string;
  /** Events each watch cache keeps for resuming watchers. Default 10000. */
  watchCacheSize?: number;
  /** How often etcd history is compacted, in seconds (Kubernetes: 300). 0 disables. */
  etcdCompactionIntervalSeconds?: number;
  /** Client certificate and key for talking to kubelets (logs, exec, attach, port-forward, proxy). */
  kubeletClientCertificate?: string;
  kubeletClientKey?: string;
  /** Private key that signs service account tokens. */
  serviceAccountSigningKeyFile?: string;
  /** The `iss` of service account tokens. Default https://kubernetes.default.svc.cluster.local. */
  serviceAccountIssuer?: string;
  /** --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds (Kubernetes: 300 each). */
  defaultTolerationSeconds?: DefaultTolerationSeconds;
  /** --audit-log-path: where audit events are appended as JSON lines. Unset: no audit log. */
  auditLogPath?: string;
  /** --audit-policy-file: an audit.k8s.io/v1 Policy. Unset: every request at Metadata. */
  auditPolicyFile?: string;
  /** --audit-log-maxsize (MB; 0: 100) and --audit-log-maxbackup (0: all), kube-apiserver's rotation. */
  auditLogMaxSizeMB?: number;
  auditLogMaxBackups?: number;
  /** --max-requests-inflight + --max-mutating-requests-inflight: the seats API Priority and Fairness shares (Kubernetes: 400 + 200). */
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
}

export interface CompiledOptions {
  etcdServers: string[];
  etcdTLS?: EtcdTLS;
  encryption?: EncryptionTransformers;
  bindAddress: string;
  securePort: number;
  grpcPort: number;
  advertiseAddress: string;
  tls: { cert: Buffer; key: Buffer; ca: Buffer };
  tokens: Map<string, UserInfo>;
  enableBootstrapTokenAuth: boolean;
  bootstrapToken?: string;
  serviceCidr: string;
  nodePortRange: [number, number];
  kubernetesIP: string;
  dnsIP: string;
  watchCacheSize: number;
  compactionSeconds: number;
  kubeletClient?: { cert: Buffer; key: Buffer };
  serviceAccount?: { signingKey: Buffer; issuer: string };
  defaultTolerationSeconds: DefaultTolerationSeconds;
  audit?: { logPath: string; policyFile?: string; maxSizeMB: number; maxBackups: number };
  /** The seats of all priority levels together. */
  flowControlSeats: number;
}

export function compileOptions(o: ApiServerOptions): CompiledOptions {
  const cidr = o.serviceClusterIPRange ?? '10.96.0.0/12';
  const [lo, hi] = (o.serviceNodePortRange ?? '30000-32767').split('-').map(Number);
  return {
    etcdServers: o.etcdServers ?? ['http://127.0.0.1:2379'],
    etcdTLS: etcdTLS(o),
    encryption: o.encryptionProviderConfig ? parseEncryptionConfig(readFileSync(o.encryptionProviderConfig, 'utf8')) : undefined,
    bindAddress: o.bindAddress ?? '0.0.0.0',
    securePort: o.securePort ?? 6443,
    grpcPort: o.grpcPort ?? 6444,
    advertiseAddress: o.advertiseAddress ?? '127.0.0.1',
    tls: { cert: readFileSync(o.tlsCertFile), key: readFileSync(o.tlsKeyFile), ca: readFileSync(o.clientCAFile) },
    tokens: o.tokenAuthFile ? parseTokenFile(readFileSync(o.tokenAuthFile, 'utf8')) : new Map<string, UserInfo>(),
    enableBootstrapTokenAuth: !!o.enableBootstrapTokenAuth,
    bootstrapToken: o.bootstrapTokenFile ? readFileSync(o.bootstrapTokenFile, 'utf8').trim() : undefined,
    serviceCidr: cidr,
    nodePortRange: [lo, hi],
    kubernetesIP: formatIPv4(nthAddress(cidr, 1)),
    dnsIP: formatIPv4(nthAddress(cidr, 10)),
    watchCacheSize: o.watchCacheSize ?? 10_000,
    compactionSeconds: o.etcdCompactionIntervalSeconds ?? 300,
    kubeletClient:
      o.kubeletClientCertificate && o.kubeletClientKey ? { cert: readFileSync(o.kubeletClientCertificate), key: readFileSync(o.kubeletClientKey) } : undefined,
    serviceAccount: o.serviceAccountSigningKeyFile
      ? { signingKey: readFileSync(o.serviceAccountSigningKeyFile), issuer: o.serviceAccountIssuer ?? 'https://kubernetes.default.svc.cluster.local' }
      : undefined,
    defaultTolerationSeconds: o.defaultTolerationSeconds ?? { notReady: 300, unreachable: 300 },
    audit: o.auditLogPath
      ? { logPath: o.auditLogPath, policyFile: o.auditPolicyFile, maxSizeMB: o.auditLogMaxSizeMB ?? 0, maxBackups: o.auditLogMaxBackups ?? 0 }
      : undefined,
    flowControlSeats: (o.maxRequestsInflight ?? 400) + (o.maxMutatingRequestsInflight ?? 200),
  };
}

/** etcd's TLS from the flags: a client certificate needs its key and the CA, as kube-apiserver checks. */
function etcdTLS(o: ApiServerOptions): EtcdTLS | undefined {
  if (!!o.etcdCertFile !== !!o.etcdKeyFile) throw new Error('--etcd-certfile and --etcd-keyfile must be given together');
  if (!o.etcdCAFile) {
    if (o.etcdCertFile) throw new Error('--etcd-certfile needs --etcd-cafile');
    return undefined;
  }
  return {
    ca: readFileSync(o.etcdCAFile),
    ...(o.etcdCertFile && o.etcdKeyFile ? { cert: readFileSync(o.etcdCertFile), key: readFileSync(o.etcdKeyFile) } : {}),
  };
}
