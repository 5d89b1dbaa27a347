/**
 * Kubelet behaviour a script relies on: `kubectl run -i --rm` with a stdin
 * that ends at once (a script's </dev/null) runs the program, returns its
 * output and exit code and removes the pod, whatever the order of the
 * attach and the container's start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
      containers: [{ name, image: 'busybox', command: ['sh', '-c', 'echo hello; exit 3'], stdin: true, stdinOnce: true, volumeMounts: volumes.map((v) => ({ name: v.name, mountPath: `/mnt/${v.name}` })) }],
    },
  });
  it('returns the output and the exit code, and removes the pod, every time', async () => {
    for (let i = 0; i < 6; i++) {
      const name = `once-${i}`;
      const overrides = i % 2 ? [] : ['--overrides', JSON.stringify(slow(name))];
      // stdin 'ignore' is /dev/null: kubectl sees end of file at once and the container's stdin is closed.
      const r = await kubectl(['run', '-n', ns, name, '-i', '--rm', '--restart=Never', '--image=busybox', ...overrides, '--', 'sh', '-c', 'echo hello; exit 3'], { stdin: 'ignore', timeout: 30_000 });
      expect(r.stdout, `run ${i}: ${r.stderr}`).toContain('hello');
      // kubectl run reports a Failed pod's exit code as its own, with "pod <ns>/<name> terminated (Error)".
      expect(r.exitCode, `run ${i}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(`pod ${ns}/${name} terminated (Error)`);
      await waitFor(`pod ${name} removed`, async () => (await kubectl(['get', 'pod', name, '-n', ns])).exitCode !== 0);
    }
  }, 300_000);
});
