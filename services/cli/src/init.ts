/**
 * `kemu init`: the cluster's credentials and kubeconfig, made once into the
 * state directory (idempotent: existing files are kept, so restarts keep
 * working credentials).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, randomBytes } from 'node:crypto';
import { formatIPv4, isPlainObject, nthAddress } from '@kemu/api';
import { makeCA, newKey, newToken, signCert, type KeyPair } from '@kemu/client/pki';
import { ensureAuditPolicy } from './audit-policy.js';
import { etcdCredentials, etcdMembersFromEnv } from './etcd-pki.js';

export interface InitOptions {
  state: string;
  /** The api-server's address on the cluster network. */
  apiserver: string;
  port?: number;
  clusterName?: string;
  /** The service range: the certificate names the kubernetes Service's address, its first. Default 10.96.0.0/12. */
  serviceCIDR?: string;
  /** The cluster domain of the kubernetes Service's name in the certificate. Default cluster.local. */
  clusterDomain?: string;
}

/**
 * The components that call the api-server with a token of their own, under their Kubernetes identity (the default
 * RBAC policy binds their roles to these user names). The kubelets have none: each node asks for a certificate of its
 * own (system:node:<name>, for the Node authorizer) with the bootstrap token (TLS bootstrapping). `key` names the
 * token in tokens.json and its file (`<key without kube->.token`).
 */
const COMPONENT_USERS: { key: string; user: string; groups: string[] }[] = [
  { key: 'kube-scheduler', user: 'system:kube-scheduler', groups: [] },
  { key: 'kube-controller-manager', user: 'system:kube-controller-manager', groups: [] },
  { key: 'kube-proxy', user: 'system:kube-proxy', groups: [] },
  // The NetworkPolicy agent beside kube-proxy, bound to the system:kemu-netpol ClusterRole (as a CNI's agent has its own).
  { key: 'netpol', user: 'system:kemu-netpol', groups: [] },
];

export function kubeconfig(opts: { server: string; ca: string; cert: string; key: string; token?: string; name: string }): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(opts.ca)}`,
    `    server: ${opts.server}`,
    `  name: ${opts.name}`,
    'contexts:',
    '- context:',
    `    cluster: ${opts.name}`,
    `    user: ${opts.name}-admin`,
    `  name: ${opts.name}`,
    `current-context: ${opts.name}`,
    'preferences: {}',
    'users:',
    `- name: ${opts.name}-admin`,
    '  user:',
    `    client-certificate-data: ${b64(opts.cert)}`,
    `    client-key-data: ${b64(opts.key)}`,
    '',
  ].join('\n');
}

export async function init(o: InitOptions): Promise<{ created: boolean; kubeconfigPath: string }> {
  const pki = join(o.state, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const f = (n: string) => join(pki, n);
  const name = o.clusterName ?? 'kemu';
  const port = o.port ?? 6443;
  const kubeconfigPath = join(o.state, 'kubeconfig');
  ensureAuditPolicy(o.state);
  if (existsSync(f('ca.crt')) && existsSync(f('tokens.csv')) && existsSync(kubeconfigPath)) {
    await nodeCredentials(pki, Promise.resolve({ cert: readFileSync(f('ca.crt'), 'utf8'), key: readFileSync(f('ca.key'), 'utf8') }));
    return { created: false, kubeconfigPath };
  }
  // Every key is asked for before any is awaited, so they are made in parallel (nodeCredentials' too).
  const [caKey, servingKey, adminKey] = [newKey(), newKey(), newKey()];
  const caReady = caKey.then((k) => makeCA(k, `${name}-ca`));
  const nodeCreds = nodeCredentials(pki, caReady);
  const ca = await caReady;
  const serving = signCert(
    ca,
    {
      commonName: 'kube-apiserver',
      dnsNames: [
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        `kubernetes.default.svc.${o.clusterDomain ?? 'cluster.local'}`,
        'localhost',
        'apiserver',
      ],
      ips: [o.apiserver, formatIPv4(nthAddress(o.serviceCIDR ?? '10.96.0.0/12', 1)), '127.0.0.1'],
      server: true,
    },
    await servingKey,
  );
  const admin = signCert(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'], client: true }, await adminKey);
  const adminToken = newToken();
  const lines = [`${adminToken},kubernetes-admin,kubernetes-admin,"system:masters"`];
  const tokens: Record<string, string> = { admin: adminToken };
  for (const c of COMPONENT_USERS) {
    const t = newToken();
    tokens[c.key] = t;
    lines.push(c.groups.length ? `${t},${c.user},${c.user},"${c.groups.join(',')}"` : `${t},${c.user},${c.user}`);
  }
  const write = (n: string, s: string, mode = 0o600) => writeFileSync(f(n), s, { mode });
  write('ca.crt', ca.cert, 0o644);
  write('ca.key', ca.key);
  write('apiserver.crt', serving.cert, 0o644);
  write('apiserver.key', serving.key);
  write('admin.crt', admin.cert, 0o644);
  write('admin.key', admin.key);
  write('tokens.csv', lines.join('\n') + '\n');
  write('tokens.json', JSON.stringify(tokens, null, 2));
  // One file per component, for its --token-file.
  for (const [who, t] of Object.entries(tokens)) write(`${who.replace(/^kube-/, '')}.token`, `${t}\n`);
  await nodeCreds;
  writeFileSync(kubeconfigPath, kubeconfig({ server: `https://${o.apiserver}:${port}`, ca: ca.cert, cert: admin.cert, key: admin.key, name }), { mode: 0o600 });
  return { created: true, kubeconfigPath };
}

/**
 * What nodes and their streams need (made when missing, so older state
 * directories gain them): the kubelets' serving certificate, the
 * api-server's client certificate for kubelets, the key that signs
 * service account tokens, and etcd's PKI with the Secrets' encryption key
 * (etcd-pki.ts). Their keys are made while the CA's is.
 */
async function nodeCredentials(pki: string, ca: Promise<KeyPair>): Promise<void> {
  const f = (n: string) => join(pki, n);
  const certified = async (name: string, req: Parameters<typeof signCert>[1]) => {
    if (existsSync(f(`${name}.crt`))) return;
    const key = newKey();
    const k = signCert(await ca, req, await key);
    writeFileSync(f(`${name}.key`), k.key, { mode: 0o600 });
    writeFileSync(f(`${name}.crt`), k.cert, { mode: 0o644 });
  };
  const saKey = async () => {
    if (existsSync(f('sa.key'))) return;
    const { pem } = await newKey('RSA-2048'); // it signs RS256 tokens
    writeFileSync(f('sa.key'), pem, { mode: 0o600 });
    writeFileSync(f('sa.pub'), createPublicKey(pem).export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  };
  // The token kubelets ask for their own certificates with (TLS bootstrapping), `[a-z0-9]{6}.[a-z0-9]{16}` as
  // kubeadm's; the api-server keeps its Secret (bootstrap-token-<id> in kube-system).
  if (!existsSync(f('bootstrap.token'))) writeFileSync(f('bootstrap.token'), `${bootstrapToken()}\n`, { mode: 0o600 });
  await Promise.all([
    certified('kubelet', { commonName: 'kubelet', dnsNames: ['localhost'], ips: ['127.0.0.1'], server: true }),
    certified('apiserver-kubelet-client', { commonName: 'kube-apiserver-kubelet-client', organizations: ['kubeadm:cluster-admins'], client: true }),
    saKey(),
    etcdCredentials(pki, etcdMembersFromEnv(process.env)),
  ]);
}

/** A bootstrap token: 6 and 16 characters of [a-z0-9], as `kubeadm token generate` makes them. */
export function bootstrapToken(): string {
  const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
  // Bytes from 252 up are dropped, so that every character is as likely (252 = 7 × 36).
  const pick = (n: number): string => {
    let out = '';
    while (out.length < n) for (const b of randomBytes(n)) if (b < 252 && out.length < n) out += ALPHABET[b % 36];
    return out;
  };
  return `${pick(6)}.${pick(16)}`;
}

export function readTokens(state: string): Record<string, string> {
  const file = join(state, 'pki', 'tokens.json');
  const tokens: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isPlainObject(tokens) || !Object.values(tokens).every((t) => typeof t === 'string')) throw new Error(`${file}: not a map of names to tokens`);
  return tokens as Record<string, string>;
}
