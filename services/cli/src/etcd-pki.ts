/**
 * etcd's credentials, laid out as kubeadm's: a CA of its own (pki/etcd/ca),
 * per member a serving certificate and a peer certificate (both names: the
 * member's, localhost; addresses: the member's, 127.0.0.1), and one client
 * certificate, the api-server's (pki/apiserver-etcd-client, CN
 * kube-apiserver-etcd-client). etcd runs with --client-cert-auth and
 * --peer-client-cert-auth against that CA, so only a holder of a key it signed
 * reads or writes etcd: the api-server, and root on the host (the keys are
 * 0600 in a 0700 directory). Beside them, the api-server's encryption
 * configuration for Secrets with a random aescbc key. Everything is made when
 * missing and kept otherwise, so restarts keep working credentials and keys.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeCA, newKey, signCert, type CertRequest, type KeyPair, type NewKey } from '@kemu/client/pki';

/** One etcd member: its name (etcd, etcd-2, etcd-3) and address on the cluster network. */
export interface EtcdMember {
  name: string;
  ip: string;
}

/** etcd's members' addresses on the cluster network a.b: as settings.ts ETCD_MEMBER_HOSTS and the compose file. */
const MEMBER_HOSTS = ['0.2', '0.11', '0.12'];

/** The members of a cluster on subnet a.b with 1 or 3 members. */
export function etcdMembers(subnet: string, count: number): EtcdMember[] {
  return MEMBER_HOSTS.slice(0, count).map((h, i) => ({ name: i ? `etcd-${i + 1}` : 'etcd', ip: `${subnet}.${h}` }));
}

/**
 * The members `kemu init` makes certificates for, from what the compose file's init service is given:
 * KEMU_SUBNET (default 172.28) and KEMU_ETCD_EXTRA_MEMBERS (1: etcd-2 and etcd-3 run too).
 */
export function etcdMembersFromEnv(env: NodeJS.ProcessEnv): EtcdMember[] {
  return etcdMembers(env.KEMU_SUBNET || '172.28', env.KEMU_ETCD_EXTRA_MEMBERS === '1' ? 3 : 1);
}

/** What a member's serving and peer certificates say (kubeadm: both server and client auth, the same names). */
export function memberCertRequest(m: EtcdMember): CertRequest {
  return { commonName: m.name, dnsNames: [m.name, 'localhost'], ips: [m.ip, '127.0.0.1'], server: true, client: true };
}

/** The api-server's etcd client certificate, as kubeadm's apiserver-etcd-client. */
export const APISERVER_ETCD_CLIENT: CertRequest = { commonName: 'kube-apiserver-etcd-client', client: true };

/** kube-apiserver's EncryptionConfiguration: Secrets written with aescbc (one 32-byte key), read back by identity too. */
export function encryptionConfig(secret: Buffer, keyName = 'key1'): string {
  return [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources:',
    '      - secrets',
    '    providers:',
    '      - aescbc:',
    '          keys:',
    `            - name: ${keyName}`,
    `              secret: ${secret.toString('base64')}`,
    // Secrets stored before encryption was on still read; the next write encrypts them.
    '      - identity: {}',
    '',
  ].join('\n');
}

/** The encryption configuration's path: in the state directory, beside pki/. */
export function encryptionConfigPath(pki: string): string {
  return join(dirname(pki), 'encryption-config.yaml');
}

/** Make what is missing of etcd's credentials and the encryption configuration under `pki` (<state>/pki). */
export async function etcdCredentials(pki: string, members: EtcdMember[]): Promise<void> {
  const f = (n: string) => join(pki, n);
  mkdirSync(f('etcd'), { recursive: true, mode: 0o700 });
  const write = (name: string, k: KeyPair) => {
    writeFileSync(f(`${name}.key`), k.key, { mode: 0o600 });
    writeFileSync(f(`${name}.crt`), k.cert, { mode: 0o644 });
  };
  const all: { name: string; req: CertRequest }[] = [
    { name: 'apiserver-etcd-client', req: APISERVER_ETCD_CLIENT },
    ...members.flatMap((m) => [
      { name: `etcd/${m.name}-server`, req: memberCertRequest(m) },
      { name: `etcd/${m.name}-peer`, req: memberCertRequest(m) },
    ]),
  ];
  const haveCA = existsSync(f('etcd/ca.crt'));
  // A new CA signs everything again: certificates of a CA that is gone would be refused.
  const wanted = all.filter((w) => !haveCA || !existsSync(f(`${w.name}.crt`)));
  // Every key is asked for before any is awaited: they are made in parallel, on the thread pool.
  const caKey: Promise<NewKey> | undefined = haveCA ? undefined : newKey();
  const keys = wanted.map(() => newKey());
  if (!existsSync(encryptionConfigPath(pki))) writeFileSync(encryptionConfigPath(pki), encryptionConfig(randomBytes(32)), { mode: 0o600 });
  let ca: KeyPair;
  if (caKey) {
    ca = makeCA(await caKey, 'etcd-ca');
    write('etcd/ca', ca);
  } else {
    ca = { cert: readFileSync(f('etcd/ca.crt'), 'utf8'), key: readFileSync(f('etcd/ca.key'), 'utf8') };
  }
  for (const [i, w] of wanted.entries()) write(w.name, signCert(ca, w.req, await keys[i]));
}
