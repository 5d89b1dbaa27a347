import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { encryptionConfig, encryptionConfigPath, etcdCredentials, etcdMembers, etcdMembersFromEnv } from './etcd-pki.js';

describe('etcd members', () => {
  it('are etcd, etcd-2, etcd-3 at the compose file addresses', () => {
    expect(etcdMembers('172.30', 3)).toEqual([
      { name: 'etcd', ip: '172.30.0.2' },
      { name: 'etcd-2', ip: '172.30.0.11' },
      { name: 'etcd-3', ip: '172.30.0.12' },
    ]);
    expect(etcdMembersFromEnv({})).toEqual([{ name: 'etcd', ip: '172.28.0.2' }]);
    expect(etcdMembersFromEnv({ KEMU_SUBNET: '10.7', KEMU_ETCD_EXTRA_MEMBERS: '1' }).map((m) => m.ip)).toEqual(['10.7.0.2', '10.7.0.11', '10.7.0.12']);
  });
});

describe('the encryption configuration kemu init writes', () => {
  it('writes Secrets with aescbc and one 32-byte key, and reads what identity stored', () => {
    const doc = parse(encryptionConfig(Buffer.alloc(32, 5))) as {
      kind: string;
      apiVersion: string;
      resources: { resources: string[]; providers: Record<string, { keys?: { name: string; secret: string }[] }>[] }[];
    };
    expect(doc.kind).toBe('EncryptionConfiguration');
    expect(doc.apiVersion).toBe('apiserver.config.k8s.io/v1');
    expect(doc.resources[0].resources).toEqual(['secrets']);
    expect(Object.keys(doc.resources[0].providers[0])).toEqual(['aescbc']);
    expect(Buffer.from(doc.resources[0].providers[0].aescbc.keys![0].secret, 'base64')).toEqual(Buffer.alloc(32, 5));
    expect(doc.resources[0].providers[1]).toEqual({ identity: {} });
  });
});

describe('etcd credentials', () => {
  it("makes etcd's CA, each member's serving and peer certificates and the api-server's client certificate; kept on a second run", async () => {
    const state = mkdtempSync(join(tmpdir(), 'kemu-etcd-pki-'));
    const pki = join(state, 'pki');
    try {
      await etcdCredentials(pki, etcdMembers('172.30', 3));
      const pem = (n: string) => readFileSync(join(pki, n), 'utf8');
      const ca = new X509Certificate(pem('etcd/ca.crt'));
      expect(ca.ca).toBe(true);
      expect(ca.subject).toBe('CN=etcd-ca');
      for (const [m, ip] of [
        ['etcd', '172.30.0.2'],
        ['etcd-2', '172.30.0.11'],
        ['etcd-3', '172.30.0.12'],
      ]) {
        for (const kind of ['server', 'peer']) {
          const name = `etcd/${m}-${kind}`;
          const cert = new X509Certificate(pem(`${name}.crt`));
          expect(cert.checkIssued(ca) && cert.verify(ca.publicKey), name).toBe(true);
          expect(cert.checkPrivateKey(createPrivateKey(pem(`${name}.key`))), name).toBe(true);
          // The names clients dial: the member's address (the api-server, the other members), loopback (checks).
          expect(cert.checkIP(ip), name).toBe(ip);
          expect(cert.checkIP('127.0.0.1'), name).toBe('127.0.0.1');
          expect(cert.checkHost('localhost'), name).toBe('localhost');
          expect(statSync(join(pki, `${name}.key`)).mode & 0o777).toBe(0o600);
        }
      }
      const client = new X509Certificate(pem('apiserver-etcd-client.crt'));
      expect(client.subject).toBe('CN=kube-apiserver-etcd-client');
      expect(client.checkIssued(ca)).toBe(true);
      expect(client.checkPrivateKey(createPrivateKey(pem('apiserver-etcd-client.key')))).toBe(true);
      // The encryption configuration: beside pki/, for root only.
      const config = encryptionConfigPath(pki);
      expect(config).toBe(join(state, 'encryption-config.yaml'));
      expect(statSync(config).mode & 0o777).toBe(0o600);
      const before = readFileSync(config, 'utf8');
      expect(before).toContain('aescbc');
      // A second run keeps the CA, the certificates and the key (Secrets written with it must still read).
      await etcdCredentials(pki, etcdMembers('172.30', 3));
      expect(new X509Certificate(pem('etcd/ca.crt')).fingerprint256).toBe(ca.fingerprint256);
      expect(new X509Certificate(pem('apiserver-etcd-client.crt')).fingerprint256).toBe(client.fingerprint256);
      expect(readFileSync(config, 'utf8')).toBe(before);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 120_000); // eight RSA keys: seconds on a loaded machine
});
