/**
 * etcd locked down and Secrets encrypted at rest, as on a kubeadm cluster:
 * etcd speaks TLS only and wants a client certificate of its own CA, which the
 * api-server alone holds (the host's root can read it from the state
 * directory; pods and nodes cannot); a Secret's value in etcd is
 * `k8s:enc:aescbc:v1:key1:` and ciphertext, while kubectl sees the data; a
 * Secret stored in plaintext before encryption still reads; and all of it
 * holds across an api-server restart.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cluster, ctx, k, kemu, kubectl, namespace, onNode, stateFile, waitFor } from './helpers.js';

const etcdIP = () => `${ctx().subnet}.0.2`;
const pki = (n: string) => stateFile('pki', n);

/** etcdctl as the api-server: its client certificate and etcd's CA. */
function etcdctl(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(
    'etcdctl',
    [
      `--endpoints=https://${etcdIP()}:2379`,
      `--cacert=${pki('etcd/ca.crt')}`,
      `--cert=${pki('apiserver-etcd-client.crt')}`,
      `--key=${pki('apiserver-etcd-client.key')}`,
      '--dial-timeout=5s',
      ...args,
    ],
    { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 },
  );
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** etcd's range call for every key under /registry, as JSON over its gRPC gateway. */
const RANGE = [
  '-s',
  '--max-time',
  '5',
  '-X',
  'POST',
  '-d',
  JSON.stringify({ key: Buffer.from('/registry/').toString('base64'), range_end: Buffer.from('/registry0').toString('base64') }),
];
const rangeURL = (scheme: string) => `${scheme}://${etcdIP()}:2379/v3/kv/range`;

let ns: string;
const SECRET = 's3cr3t-value-that-must-not-be-in-etcd';

beforeAll(async () => {
  ns = await namespace('etcd-sec');
  await k(['create', 'secret', 'generic', 'creds', '-n', ns, `--from-literal=password=${SECRET}`]);
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('Secrets encrypted at rest', () => {
  it("are aescbc in etcd, read raw with the api-server's client certificate, and plain to kubectl", async () => {
    const raw = etcdctl('get', `/registry/secrets/${ns}/creds`, '--print-value-only');
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdout.startsWith('k8s:enc:aescbc:v1:key1:')).toBe(true);
    expect(raw.stdout).not.toContain(SECRET);
    expect(raw.stdout).not.toContain(Buffer.from(SECRET).toString('base64'));
    expect(raw.stdout).not.toContain('"kind"');
    const data = await k(['get', 'secret', 'creds', '-n', ns, '-o', 'jsonpath={.data.password}']);
    expect(Buffer.from(data, 'base64').toString()).toBe(SECRET);
    // What is not a Secret is stored as it is.
    await k(['create', 'configmap', 'plain', '-n', ns, '--from-literal=k=visible']);
    expect(etcdctl('get', `/registry/configmaps/${ns}/plain`, '--print-value-only').stdout).toContain('visible');
  });

  it('a Secret stored before encryption (plaintext) still reads, and is encrypted when next written', async () => {
    const legacy = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'legacy',
        namespace: ns,
        uid: '00000000-0000-0000-0000-00000000abcd',
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      type: 'Opaque',
      data: { old: Buffer.from('from-before').toString('base64') },
    };
    expect(etcdctl('put', `/registry/secrets/${ns}/legacy`, JSON.stringify(legacy)).code).toBe(0);
    const old = await waitFor('the plaintext Secret through the api-server', async () => {
      const r = await kubectl(['get', 'secret', 'legacy', '-n', ns, '-o', 'jsonpath={.data.old}']);
      return r.exitCode === 0 && r.stdout ? r.stdout : undefined;
    });
    expect(Buffer.from(old, 'base64').toString()).toBe('from-before');
    await k(['label', 'secret', 'legacy', '-n', ns, 'rewritten=yes']);
    const raw = etcdctl('get', `/registry/secrets/${ns}/legacy`, '--print-value-only').stdout;
    expect(raw.startsWith('k8s:enc:aescbc:v1:key1:')).toBe(true);
    expect(raw).not.toContain(Buffer.from('from-before').toString('base64'));
  });
});

describe('etcd locked down', () => {
  it("answers the api-server's client certificate over TLS (the control for what follows)", () => {
    const r = spawnSync(
      'curl',
      [...RANGE, '--cacert', pki('etcd/ca.crt'), '--cert', pki('apiserver-etcd-client.crt'), '--key', pki('apiserver-etcd-client.key'), rangeURL('https')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"kvs"');
  });

  it('refuses the host without a client certificate: the TLS handshake fails, plaintext gets nothing', () => {
    // -k: etcd's serving certificate is not what is in question; the handshake fails for want of a client certificate.
    const tls = spawnSync('curl', [...RANGE, '-k', rangeURL('https')], { encoding: 'utf8' });
    expect(tls.status).not.toBe(0);
    expect(tls.stdout).not.toContain('kvs');
    const plain = spawnSync('curl', [...RANGE, rangeURL('http')], { encoding: 'utf8' });
    expect(plain.status).not.toBe(0);
    expect(plain.stdout).not.toContain('kvs');
    // etcdctl with etcd's CA but no certificate of its own gets no answer either.
    const r = spawnSync(
      'etcdctl',
      [
        `--endpoints=https://${etcdIP()}:2379`,
        `--cacert=${pki('etcd/ca.crt')}`,
        '--dial-timeout=3s',
        '--command-timeout=5s',
        'get',
        '/registry/secrets',
        '--prefix',
        '--keys-only',
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, ETCDCTL_API: '3' },
        timeout: 30_000,
      },
    );
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('/registry/secrets');
  });

  it('refuses a node', () => {
    const tls = onNode('node-1', 'curl', ...RANGE, '-k', rangeURL('https'));
    expect(tls.code).not.toBe(0);
    expect(tls.stdout).not.toContain('kvs');
  });

  it('refuses a pod, which has no way to the keys either', async () => {
    const script = [
      `curl ${RANGE.map((a) => `'${a}'`).join(' ')} -k ${rangeURL('https')}; echo " tls=$?"`,
      `curl ${RANGE.map((a) => `'${a}'`).join(' ')} ${rangeURL('http')}; echo " plain=$?"`,
      `ls ${stateFile('pki')} >/dev/null 2>&1; echo " pki=$?"`,
    ].join('; ');
    const r = await kubectl(['run', 'etcd-probe', '-n', ns, '-i', '--rm', '--restart=Never', '--image=radial/busyboxplus:curl', '--', 'sh', '-c', script], {
      stdin: 'ignore',
      timeout: 120_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('kvs');
    expect(r.stdout).toMatch(/tls=[1-9]/);
    expect(r.stdout).toMatch(/plain=[1-9]/);
    expect(r.stdout).toMatch(/pki=[1-9]/);
  }, 180_000);
});

describe('across an api-server restart', () => {
  it('the key is kept: old Secrets decrypt, new ones are written encrypted', async () => {
    cluster().killService('apiserver');
    kemu('start');
    await waitFor('the api-server back', async () => (await api('GET', '/readyz')).text === 'ok', 60_000);
    const data = await k(['get', 'secret', 'creds', '-n', ns, '-o', 'jsonpath={.data.password}']);
    expect(Buffer.from(data, 'base64').toString()).toBe(SECRET);
    await k(['create', 'secret', 'generic', 'after', '-n', ns, '--from-literal=x=after-restart']);
    expect(etcdctl('get', `/registry/secrets/${ns}/after`, '--print-value-only').stdout.startsWith('k8s:enc:aescbc:v1:key1:')).toBe(true);
    expect(Buffer.from(await k(['get', 'secret', 'after', '-n', ns, '-o', 'jsonpath={.data.x}']), 'base64').toString()).toBe('after-restart');
  }, 120_000);
});
