/**
 * A real kubelet running pods: the kubelet in a node network namespace on the
 * cluster's bridge registers its node, gets a podCIDR, and runs what the
 * scheduler binds to it — nginx answering on its pod IP, a failing image
 * reported as ErrImagePull/ImagePullBackOff, a container's exit code, and
 * graceful deletion that removes the pod's namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTimings } from './profile.js';
import { ctx, k, namespace, stateFile, waitFor } from './helpers.js';

const NODE = 'node-k1';
let nodeNs: string;
let podPrefix: string;
let kubelet: ChildProcess;
let ns: string;
const stateDir = mkdtempSync('/tmp/kemu-kubelet-');
const ipc = (...a: string[]) => spawnSync('ip', a, { encoding: 'utf8' });

beforeAll(async () => {
  const c = ctx();
  nodeNs = `${c.project}-${NODE}`;
  podPrefix = `${c.project}-p-k1-`; // under the project's prefix (kemu down removes it), apart from the cluster's nodes
  ipc('netns', 'add', nodeNs);
  ipc('-n', `${c.project}-net`, 'link', 'add', 'v-k1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nodeNs);
  ipc('-n', `${c.project}-net`, 'link', 'set', 'v-k1', 'master', 'br0', 'up');
  ipc('-n', nodeNs, 'addr', 'add', `${c.subnet}.1.50/16`, 'dev', 'eth0');
  ipc('-n', nodeNs, 'link', 'set', 'eth0', 'up');
  ipc('-n', nodeNs, 'link', 'set', 'lo', 'up');
  kubelet = spawn(
    'nsenter',
    [
      `--net=/run/netns/${nodeNs}`,
      '--',
      process.execPath,
      resolve(import.meta.dirname, '../../services/kubelet/dist/main.js'),
      `--apiserver=${c.subnet}.0.3:6444`,
      `--ca-file=${stateFile('pki', 'ca.crt')}`,
      `--bootstrap-token-file=${stateFile('pki', 'bootstrap.token')}`,
      `--cert-dir=${stateFile('nodes', NODE, 'pki')}`,
      `--node-name=${NODE}`,
      `--node-ip=${c.subnet}.1.50`,
      // The cluster's timing profile: on the fast one a kubelet renewing every 10 s is NotReady between renewals.
      `--node-lease-duration-seconds=${clusterTimings().nodeLeaseDurationSeconds}`,
      `--node-status-update-frequency=${clusterTimings().nodeStatusUpdateFrequency}`,
      '--cpu=2',
      `--memory=${4 * 2 ** 30}`,
      '--port=0',
      '--run-pods',
      `--netns=${nodeNs}`,
      `--pod-ns-prefix=${podPrefix}`,
      `--state-dir=${stateDir}`,
    ],
    { stdio: 'ignore' },
  );
  await waitFor('node-k1 Ready', async () => /node-k1\s+Ready/.test(await k(['get', 'nodes'])), 30_000);
  ns = await namespace('kubelet');
});

afterAll(async () => {
  kubelet?.kill('SIGTERM');
  await new Promise((r) => kubelet?.once('exit', r));
  for (const line of ipc('netns', 'list').stdout.split('\n')) {
    const name = line.split(' ')[0];
    if (!name || (name !== nodeNs && !name.startsWith(podPrefix))) continue;
    // Pods outlive their kubelet: stop what still runs in the namespace, then remove it.
    for (const pid of ipc('netns', 'pids', name).stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    ipc('netns', 'del', name);
  }
  await k(['delete', 'node', NODE, '--wait=false']).catch(() => undefined);
  rmSync(stateDir, { recursive: true, force: true });
});

const pod = (name: string, image: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${NODE}}
  terminationGracePeriodSeconds: 5
${extra}  containers:
  - name: main
    image: ${image}
`;

describe('kubelet runs pods', () => {
  it('runs nginx: Running 1/1, an address from the node podCIDR, the welcome page on it', async () => {
    await k(['apply', '-n', ns, '-f', '-'], { input: pod('web', 'nginx:1.25') });
    await waitFor('web Running', async () => /web\s+1\/1\s+Running\s+0/.test(await k(['get', 'pod', 'web', '-n', ns])), 30_000);
    const ip = await k(['get', 'pod', 'web', '-n', ns, '-o', 'jsonpath={.status.podIP}']);
    const cidr = await k(['get', 'node', NODE, '-o', 'jsonpath={.spec.podCIDR}']);
    expect(ip.split('.').slice(0, 3).join('.')).toBe(cidr.split('.').slice(0, 3).join('.'));
    const page = await waitFor(
      'welcome page',
      () => spawnSync('ip', ['netns', 'exec', nodeNs, 'curl', '-s', '--max-time', '2', `http://${ip}/`], { encoding: 'utf8' }).stdout || undefined,
      10_000,
    );
    expect(page).toContain('Welcome to nginx!');
    const events = await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=web']);
    expect(events).toMatch(/Started\s+pod\/web\s+Started container main/);
  });

  it('reports an image that does not exist', async () => {
    await k(['apply', '-n', ns, '-f', '-'], { input: pod('ghost', 'example.invalid/nothing:1') });
    await waitFor('ErrImagePull', async () => /ghost\s+0\/1\s+(ErrImagePull|ImagePullBackOff)/.test(await k(['get', 'pod', 'ghost', '-n', ns])), 30_000);
    // Then the kubelet backs off: ImagePullBackOff, with Kubernetes' events.
    await waitFor('ImagePullBackOff', async () => /ghost\s+0\/1\s+ImagePullBackOff/.test(await k(['get', 'pod', 'ghost', '-n', ns])), 30_000);
    const events = await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=ghost']);
    expect(events).toContain('Failed to pull image "example.invalid/nothing:1"');
    expect(events).toContain('Error: ErrImagePull');
    expect(events).toContain('Back-off pulling image "example.invalid/nothing:1"');
  });

  it('reports how a container ended', async () => {
    await k(['apply', '-n', ns, '-f', '-'], { input: `${pod('once', 'busybox', '  restartPolicy: Never\n')}    command: ["sh", "-c", "exit 3"]\n` });
    await waitFor('Error', async () => /once\s+0\/1\s+Error\s+0/.test(await k(['get', 'pod', 'once', '-n', ns])), 30_000);
    expect(await k(['get', 'pod', 'once', '-n', ns, '-o', 'jsonpath={.status.phase} {.status.containerStatuses[0].state.terminated.exitCode}'])).toBe(
      'Failed 3',
    );
  });

  it('deletes gracefully: the container stops, the pod and its namespace go', async () => {
    const uid = await k(['get', 'pod', 'web', '-n', ns, '-o', 'jsonpath={.metadata.uid}']);
    expect(await k(['delete', 'pod', 'web', '-n', ns, '--timeout=30s'])).toContain('pod "web" deleted');
    expect(ipc('netns', 'list').stdout).not.toContain(`${podPrefix}${uid.slice(0, 8)}`);
  });
});
