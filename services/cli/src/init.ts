/**
 * `kemu init`: the cluster's credentials and kubeconfig, made once into the
 * state directory (idempotent: existing files are kept, so restarts keep
 * working credentials).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { isPlainObject } from '@kemu/api';
import { makeCA, newToken, signCert, type KeyPair } from './pki.js';

export interface InitOptions {
  state: string;
  /** The api-server's address on the cluster network. */
  apiserver: string;
  port?: number;
  clusterName?: string;
}

/** The components that call the api-server with a token of their own. */
const COMPONENT_USERS = ['system:kube-scheduler', 'system:kube-controller-manager', 'system:node', 'system:kube-proxy'];

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

export function init(o: InitOptions): { created: boolean; kubeconfigPath: string } {
  const pki = join(o.state, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const f = (n: string) => join(pki, n);
  const name = o.clusterName ?? 'kemu';
  const port = o.port ?? 6443;
  const kubeconfigPath = join(o.state, 'kubeconfig');
  if (existsSync(f('ca.crt')) && existsSync(f('tokens.csv')) && existsSync(kubeconfigPath)) {
    nodeCredentials(pki, { cert: readFileSync(f('ca.crt'), 'utf8'), key: readFileSync(f('ca.key'), 'utf8') });
    return { created: false, kubeconfigPath };
  }
  const ca = makeCA(`${name}-ca`);
  const serving = signCert(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost', 'apiserver'],
    ips: [o.apiserver, '10.96.0.1', '127.0.0.1'],
    server: true,
  });
  const admin = signCert(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'], client: true });
  const adminToken = newToken();
  const lines = [`${adminToken},kubernetes-admin,kubernetes-admin,"system:masters"`];
  const tokens: Record<string, string> = { admin: adminToken };
  for (const user of COMPONENT_USERS) {
    const t = newToken();
    tokens[user.replace('system:', '')] = t;
    lines.push(`${t},${user},${user},"system:masters"`);
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
  nodeCredentials(pki, ca);
  writeFileSync(kubeconfigPath, kubeconfig({ server: `https://${o.apiserver}:${port}`, ca: ca.cert, cert: admin.cert, key: admin.key, name }), { mode: 0o600 });
  return { created: true, kubeconfigPath };
}

/**
 * What nodes and their streams need (made when missing, so older state
 * directories gain them): the kubelets' serving certificate, the
 * api-server's client certificate for kubelets, and the key that signs
 * service account tokens.
 */
function nodeCredentials(pki: string, ca: KeyPair): void {
  const f = (n: string) => join(pki, n);
  if (!existsSync(f('kubelet.crt'))) {
    const k = signCert(ca, { commonName: 'kubelet', dnsNames: ['localhost'], ips: ['127.0.0.1'], server: true });
    writeFileSync(f('kubelet.key'), k.key, { mode: 0o600 });
    writeFileSync(f('kubelet.crt'), k.cert, { mode: 0o644 });
  }
  if (!existsSync(f('apiserver-kubelet-client.crt'))) {
    const k = signCert(ca, { commonName: 'kube-apiserver-kubelet-client', organizations: ['kubeadm:cluster-admins'], client: true });
    writeFileSync(f('apiserver-kubelet-client.key'), k.key, { mode: 0o600 });
    writeFileSync(f('apiserver-kubelet-client.crt'), k.cert, { mode: 0o644 });
  }
  if (!existsSync(f('sa.key'))) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(f('sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    writeFileSync(f('sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  }
}

export function readTokens(state: string): Record<string, string> {
  const file = join(state, 'pki', 'tokens.json');
  const tokens: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isPlainObject(tokens) || !Object.values(tokens).every((t) => typeof t === 'string')) throw new Error(`${file}: not a map of names to tokens`);
  return tokens as Record<string, string>;
}
