/** The api-server's etcd flags as compileOptions reads them: TLS files and the encryption configuration. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileOptions, type ApiServerOptions } from '../options.js';

const dir = mkdtempSync(join(tmpdir(), 'kemu-etcd-options-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const base: ApiServerOptions = { tlsCertFile: file('tls.crt', 'cert'), tlsKeyFile: file('tls.key', 'key'), clientCAFile: file('ca.crt', 'ca') };

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--etcd-cafile, --etcd-certfile, --etcd-keyfile', () => {
  it('without them etcd is spoken to as before; with them, over TLS with the client certificate', () => {
    expect(compileOptions(base).etcdTLS).toBeUndefined();
    const tls = compileOptions({ ...base, etcdCAFile: file('etcd-ca.crt', 'E'), etcdCertFile: file('c.crt', 'C'), etcdKeyFile: file('c.key', 'K') }).etcdTLS;
    expect(tls && [tls.ca.toString(), tls.cert?.toString(), tls.key?.toString()]).toEqual(['E', 'C', 'K']);
  });
  it('refuses a certificate without its key, or without the CA', () => {
    expect(() => compileOptions({ ...base, etcdCAFile: file('etcd-ca.crt', 'E'), etcdCertFile: file('c.crt', 'C') })).toThrow(
      '--etcd-certfile and --etcd-keyfile must be given together',
    );
    expect(() => compileOptions({ ...base, etcdCertFile: file('c.crt', 'C'), etcdKeyFile: file('c.key', 'K') })).toThrow('--etcd-certfile needs --etcd-cafile');
  });
});

describe('--encryption-provider-config', () => {
  it('encrypts what the configuration names; without it nothing is', () => {
    expect(compileOptions(base).encryption).toBeUndefined();
    const config = file(
      'enc.yaml',
      `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - aesgcm: {keys: [{name: k, secret: ${Buffer.alloc(16, 1).toString('base64')}}]}\n`,
    );
    const enc = compileOptions({ ...base, encryptionProviderConfig: config }).encryption;
    expect(enc?.forKey('/registry/secrets/a/b')?.toStorage(Buffer.from('x'), '/registry/secrets/a/b').subarray(0, 18).toString()).toBe('k8s:enc:aesgcm:v1:');
    expect(enc?.forKey('/registry/pods/a/b')).toBeUndefined();
  });
  it('refuses to start on a bad configuration, saying what is wrong', () => {
    const bad = file('bad.yaml', 'apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: []\n');
    expect(() => compileOptions({ ...base, encryptionProviderConfig: bad })).toThrow('resources: Required value');
  });
});
