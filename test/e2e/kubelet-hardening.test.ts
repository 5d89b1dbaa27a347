/**
 * Kubelet behaviour a script relies on: `kubectl run -i --rm` with a stdin
 * that ends at once (a script's </dev/null) runs the program, returns its
 * output and exit code and removes the pod, whatever the order of the
 * attach and the container's start; and a container's environment has
 * HOSTNAME, as container runtimes set it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { k, kubectl, namespace, waitFor } from './helpers.js';

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
