/**
 * Zero-downtime rolling update, as the Deployments tutorial does it: the
 * tutorial's nginx Deployment (nginx:1.7.9, 3 replicas, no probe, no preStop),
 * exposed with `kubectl expose --type=NodePort`, `kubectl set image
 * deployment/nginx-deployment nginx=nginx:1.9.1 --record` while clients call
 * the Service in a loop, each call a new connection: one from a pod through
 * the ClusterIP, one from the host through the NodePort. `kubectl rollout
 * status` waits for the rollout; then no call may have failed.
 *
 * What has to hold for that (see the README, "Where kemu differs"): a new pod
 * enters the rules only once nginx listens; an old pod leaves them (its
 * endpoint terminating, no longer ready) before nginx closes its listening
 * sockets on SIGQUIT, which kemu's kubelet waits for (its EndpointDrain
 * event); the replicas never drop below three ready (maxUnavailable 25% of 3
 * rounds down to 0).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventList, PodList } from 'kubernetes-types/core/v1.js';
import { AGNHOST, apply, k, kubectl, namespace, parseJson, podManifest, waitFor } from './helpers.js';

/** The tutorial's manifest (kubernetes.io, "Deployments", before nginx:1.14.2 replaced 1.7.9). */
const TUTORIAL = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.7.9
        ports:
        - containerPort: 80
`;

/** Bound on each client's loop: it stops on its stop file, or after this many calls. */
const MAX_CALLS = 4000;

/**
 * A shell loop of curl calls (each a new connection, 2 s at most) until `stop` exists: one line per call, `ok` or
 * `fail <curl exit code> <epoch seconds>`. -f makes an HTTP error status a failure too.
 */
const loop = (url: string, stop: string) =>
  `i=0; while [ ! -e ${stop} ] && [ $i -lt ${MAX_CALLS} ]; do i=$((i+1)); ` +
  `if curl -sf -o /dev/null --max-time 2 ${url}; then echo ok; else echo "fail $? $(date +%s.%N)"; fi; done`;

interface Tally {
  ok: number;
  failed: string[];
}

const tally = (out: string): Tally => {
  const lines = out.split('\n').filter((l) => l.trim());
  return { ok: lines.filter((l) => l === 'ok').length, failed: lines.filter((l) => l.startsWith('fail')) };
};

let ns = '';
let tmp = '';

beforeAll(async () => {
  ns = await namespace('rollout');
  tmp = mkdtempSync('/tmp/kemu-rollout-');
  await apply(ns, TUTORIAL);
  await k(['expose', '-n', ns, 'deployment/nginx-deployment', '--port=80', '--type=NodePort']);
  await apply(ns, podManifest('client', [{ name: 'client', image: AGNHOST, args: ['pause'] }]));
  await k(['rollout', 'status', '-n', ns, 'deployment/nginx-deployment', '--timeout=60s'], { timeout: 70_000 });
  await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/client', '--timeout=60s'], { timeout: 70_000 });
}, 150_000);

afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('kubectl set image on the tutorial Deployment while clients call its Service', () => {
  it('rolls out nginx:1.9.1 with no failed request, from a pod (ClusterIP) and from the host (NodePort)', async () => {
    const clusterIP = await k(['get', 'svc', '-n', ns, 'nginx-deployment', '-o', 'jsonpath={.spec.clusterIP}']);
    const nodePort = await k(['get', 'svc', '-n', ns, 'nginx-deployment', '-o', 'jsonpath={.spec.ports[0].nodePort}']);
    const nodeIP = await k(['get', 'node', 'node-1', '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}']);
    const hostStop = join(tmp, 'stop');

    // Both paths answer before the rollout starts (a failure then would say nothing of the rollout). A Service's rules
    // reach each node's kernel some time after `kubectl expose` returns (kube-proxy's sync; longer on a loaded
    // machine), as in Kubernetes, so this waits for them rather than taking the first call's word.
    await waitFor(
      'the Service answering from the client pod',
      async () => {
        const r = await kubectl(['exec', '-n', ns, 'client', '--', 'curl', '-sf', '-o', '/dev/null', '--max-time', '2', `http://${clusterIP}/`]);
        return r.exitCode === 0;
      },
      60_000,
      500,
    );
    await waitFor(
      'the NodePort answering from the host',
      async () => {
        const r = await execa('curl', ['-sf', '-o', '/dev/null', '--max-time', '2', `http://${nodeIP}:${nodePort}/`], { reject: false });
        return r.exitCode === 0;
      },
      60_000,
      500,
    );
    const fromPod = kubectl(['exec', '-n', ns, 'client', '--', 'sh', '-c', loop(`http://${clusterIP}/`, '/tmp/stop')], { timeout: 120_000 });
    const fromHost = execa('sh', ['-c', loop(`http://${nodeIP}:${nodePort}/`, hostStop)], { reject: false, timeout: 120_000 });
    const before = (await kubectl(['get', 'pods', '-n', ns, '-l', 'app=nginx', '-o', 'name'])).stdout.split('\n').filter(Boolean);
    expect(before).toHaveLength(3);

    const set = await kubectl(['set', 'image', '-n', ns, 'deployment/nginx-deployment', 'nginx=nginx:1.9.1', '--record']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout).toContain('deployment.apps/nginx-deployment image updated');
    const status = await k(['rollout', 'status', '-n', ns, 'deployment/nginx-deployment', '--timeout=60s'], { timeout: 70_000 });
    expect(status).toContain('successfully rolled out');
    // The old pods are gone (terminated through their grace), so every stop happened while the clients called.
    let gone = false;
    for (let i = 0; i < 120 && !gone; i++) {
      const pods = parseJson<PodList>(await k(['get', 'pods', '-n', ns, '-l', 'app=nginx', '-o', 'json'])).items;
      gone = pods.length === 3 && pods.every((p) => !p.metadata?.deletionTimestamp && p.spec?.containers[0].image === 'nginx:1.9.1');
      if (!gone) await new Promise((r) => setTimeout(r, 500));
    }
    expect(gone).toBe(true);

    await kubectl(['exec', '-n', ns, 'client', '--', 'touch', '/tmp/stop']);
    writeFileSync(hostStop, '');
    const pod = tally((await fromPod).stdout);
    const host = tally(String((await fromHost).stdout ?? ''));
    const events = parseJson<EventList>(await k(['get', 'events', '-n', ns, '-o', 'json'])).items;
    const timeline = events
      .filter((e) => e.involvedObject?.kind === 'Pod')
      .map((e) => `${e.lastTimestamp ?? e.eventTime} ${e.involvedObject?.name} ${e.reason} ${e.message}`)
      .sort();
    console.log(JSON.stringify({ fromPod: { ok: pod.ok, failed: pod.failed }, fromHost: { ok: host.ok, failed: host.failed }, timeline }, null, 1));

    // The loops ran through the whole rollout (many calls each), and none failed.
    expect(pod.ok).toBeGreaterThan(20);
    expect(host.ok).toBeGreaterThan(20);
    expect(pod.failed).toEqual([]);
    expect(host.failed).toEqual([]);
    // Each old pod was stopped after kemu's endpoint drain, which says so on the pod (see the README).
    const drained = new Set(events.filter((e) => e.reason === 'EndpointDrain').map((e) => e.involvedObject?.name));
    expect([...drained].filter((n) => before.includes(`pod/${n}`))).toHaveLength(3);
    // `--record` wrote the command as the change cause (kubectl rollout history shows it).
    const history = await k(['rollout', 'history', '-n', ns, 'deployment/nginx-deployment']);
    expect(history).toMatch(/kubectl .*set image .*nginx=nginx:1\.9\.1/);
  }, 240_000);
});
