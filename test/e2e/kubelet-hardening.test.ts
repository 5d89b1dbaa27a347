/**
 * Kubelet behaviour a script relies on: `kubectl run -i --rm` with a stdin
 * that ends at once (a script's </dev/null) runs the program, returns its
 * output and exit code and removes the pod, whatever the order of the
 * attach and the container's start; and a container's environment has
 * HOSTNAME, as container runtimes set it.
 *
 * The kubelet API (10250) as kubeadm configures it: no anonymous requests
 * (401), bearer tokens checked with a TokenReview, every request authorized
 * with a SubjectAccessReview of nodes/<subresource> (403 with the kubelet's
 * message), no read-only port; the api-server's own client certificate
 * (kubeadm:cluster-admins) still carries logs, exec and node proxying.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { k, kubectl, namespace, onNode, selfSignedCert, stateFile, waitFor } from './helpers.js';

let ns: string;

beforeAll(async () => {
  ns = await namespace('hardening');
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('kubectl run -i --rm from a script (stdin ends at once)', () => {
  // The attach ending stdin raced with the container opening it (the program then never started): run it several
  // times, every other one with a container whose setup is slow (many volumes to mount before the program runs), so
  // the attach comes first.
  const volumes = Array.from({ length: 40 }, (_, i) => ({ name: `v${i}`, emptyDir: {} }));
  const slow = (name: string) => ({
    spec: {
      volumes,
      containers: [
        {
          name,
          image: 'busybox',
          command: ['sh', '-c', 'echo hello; exit 3'],
          stdin: true,
          stdinOnce: true,
          volumeMounts: volumes.map((v) => ({ name: v.name, mountPath: `/mnt/${v.name}` })),
        },
      ],
    },
  });
  it('returns the output and the exit code, and removes the pod, every time', async () => {
    for (let i = 0; i < 6; i++) {
      const name = `once-${i}`;
      const overrides = i % 2 ? [] : ['--overrides', JSON.stringify(slow(name))];
      // stdin 'ignore' is /dev/null: kubectl sees end of file at once and the container's stdin is closed.
      const r = await kubectl(
        ['run', '-n', ns, name, '-i', '--rm', '--restart=Never', '--image=busybox', ...overrides, '--', 'sh', '-c', 'echo hello; exit 3'],
        { stdin: 'ignore', timeout: 30_000 },
      );
      expect(r.stdout, `run ${i}: ${r.stderr}`).toContain('hello');
      // kubectl run reports a Failed pod's exit code as its own, with "pod <ns>/<name> terminated (Error)".
      expect(r.exitCode, `run ${i}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(`pod ${ns}/${name} terminated (Error)`);
      await waitFor(`pod ${name} removed`, async () => (await kubectl(['get', 'pod', name, '-n', ns])).exitCode !== 0);
    }
  }, 300_000);
});

describe('HOSTNAME in a container’s environment', () => {
  const long = `h${'x'.repeat(61)}-abcdef`; // 69 characters: the hostname is its first 63, without the trailing '-'
  beforeAll(async () => {
    await k(['apply', '-n', ns, '-f', '-'], {
      input: [
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain' }, spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] } },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'named' },
          spec: { hostname: 'myhost', containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
        },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'own' },
          spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], env: [{ name: 'HOSTNAME', value: 'mine' }] }] },
        },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: long }, spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] } },
      ]
        .map((o) => stringify(o))
        .join('---\n'),
    });
    await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/plain', 'pod/named', 'pod/own', `pod/${long}`, '--timeout=60s']);
  });

  const hostnameEnv = (pod: string) => k(['exec', '-n', ns, pod, '--', 'sh', '-c', 'echo "$HOSTNAME"']);

  it('is the pod’s name, or spec.hostname; an env var of the container overrides it', async () => {
    expect(await hostnameEnv('plain')).toBe('plain');
    expect(await hostnameEnv('named')).toBe('myhost');
    expect(await hostnameEnv('own')).toBe('mine');
  });

  it('is truncated to 63 characters as the pod’s hostname is', async () => {
    const want = long.slice(0, 63).replace(/[-.]+$/, '');
    expect(want).toHaveLength(62);
    expect(await hostnameEnv(long)).toBe(want);
    expect(await k(['exec', '-n', ns, long, '--', 'hostname'])).toBe(want);
  });
});

describe('the kubelet API (10250) authenticates and authorizes its callers through the api-server', () => {
  let nodeIP: string;
  let nodeName: string;
  const reader = 'kubelet-reader';
  const bindings = () => [`${ns}-kubelet-reader`, `${ns}-kubelet-default`];

  beforeAll(async () => {
    await k(['create', 'serviceaccount', reader, '-n', ns]);
    await k(['run', 'probe', '-n', ns, '--image=radial/busyboxplus:curl', '--', 'sh', '-c', 'echo probe-started; sleep 3600']);
    await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/probe', '--timeout=60s']);
    nodeIP = await k(['get', 'pod', 'probe', '-n', ns, '-o', 'jsonpath={.status.hostIP}']);
    nodeName = await k(['get', 'pod', 'probe', '-n', ns, '-o', 'jsonpath={.spec.nodeName}']);
  }, 120_000);

  afterAll(async () => {
    await kubectl(['delete', 'clusterrolebinding', ...bindings(), '--ignore-not-found']);
  });

  /** curl from the probe pod: the status code, then the body. */
  const fromPod = async (curlArgs: string): Promise<{ code: string; body: string }> => {
    const out = await k(['exec', '-n', ns, 'probe', '--', 'sh', '-c', `curl -sk -o /tmp/body -w '%{http_code}' ${curlArgs}; echo; cat /tmp/body`]);
    const [code = '', ...body] = out.split('\n');
    return { code, body: body.join('\n') };
  };
  const podsURL = () => `https://${nodeIP}:10250/pods`;
  const mounted = `-H "Authorization: Bearer $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)"`;

  it('refuses a pod without credentials: 401 Unauthorized', async () => {
    expect(await fromPod(podsURL())).toEqual({ code: '401', body: 'Unauthorized' });
  });

  it("forbids the pod's own service account token, with the kubelet's message", async () => {
    const r = await fromPod(`${mounted} ${podsURL()}`);
    expect(r.code).toBe('403');
    expect(r.body).toBe(`Forbidden (user=system:serviceaccount:${ns}:default, verb=get, resource=nodes, subresource(s)=[pods proxy])`);
    // exec is nodes/proxy, create (a POST) — denied too.
    expect((await fromPod(`-X POST ${mounted} https://${nodeIP}:10250/exec/${ns}/probe/probe?command=id`)).code).toBe('403');
  });

  it('refuses a token the api-server does not know (401)', async () => {
    expect((await fromPod(`-H 'Authorization: Bearer not-a-token' ${podsURL()}`)).code).toBe('401');
  });

  it('lets a service account bound to system:kubelet-api-admin read the node’s pods', async () => {
    await k(['create', 'clusterrolebinding', bindings()[0], '--clusterrole=system:kubelet-api-admin', `--serviceaccount=${ns}:${reader}`]);
    const token = await k(['create', 'token', reader, '-n', ns]);
    const r = await fromPod(`-H 'Authorization: Bearer ${token}' ${podsURL()}`);
    expect(r.code).toBe('200');
    const list = JSON.parse(r.body) as { kind: string; items: { metadata: { name: string; namespace: string } }[] };
    expect(list.kind).toBe('PodList');
    expect(list.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toContain(`${ns}/probe`);
  });

  it('sees a new binding once the denial it cached (30 s) has expired', async () => {
    await k(['create', 'clusterrolebinding', bindings()[1], '--clusterrole=system:kubelet-api-admin', `--serviceaccount=${ns}:default`]);
    await waitFor('the default service account let in', async () => (await fromPod(`${mounted} ${podsURL()}`)).code === '200', 90_000, 2_000);
  }, 120_000);

  it('refuses the host without credentials (401), and a certificate of another CA even if it names the admins', () => {
    const curl = (...args: string[]) => spawnSync('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', ...args], { encoding: 'utf8' });
    expect(curl(podsURL()).stdout).toBe('401');
    const dir = mkdtempSync(join(tmpdir(), 'kubelet-forged-'));
    try {
      const forged = selfSignedCert(dir, 'admin', 'kubeadm:cluster-admins');
      expect(curl('--cert', forged.crt, '--key', forged.key, podsURL()).stdout).toBe('401');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The api-server's own certificate (CN=kube-apiserver-kubelet-client, O=kubeadm:cluster-admins) is let in.
    const pki = (f: string) => stateFile('pki', f);
    expect(curl('--cert', pki('apiserver-kubelet-client.crt'), '--key', pki('apiserver-kubelet-client.key'), podsURL()).stdout).toBe('200');
  });

  it('has no read-only port (10255)', () => {
    // curl's exit code 7: the connection was refused.
    expect(spawnSync('curl', ['-s', '--max-time', '10', `http://${nodeIP}:10255/pods`]).status).toBe(7);
    expect(onNode(nodeName, 'curl', '-s', '--max-time', '10', 'http://127.0.0.1:10255/pods').code).toBe(7);
  });

  it('still carries kubectl logs, exec and the node proxy through the api-server', async () => {
    expect(await k(['logs', '-n', ns, 'probe'])).toBe('probe-started');
    expect(await k(['exec', '-n', ns, 'probe', '--', 'echo', 'exec-ok'])).toBe('exec-ok');
    const raw = await k(['get', '--raw', `/api/v1/nodes/${nodeName}/proxy/pods`]);
    expect((JSON.parse(raw) as { items: { metadata: { name: string } }[] }).items.map((p) => p.metadata.name)).toContain('probe');
  });
});
