/**
 * What the kubelet does for a pod's life, on the cluster's real nodes:
 * environment (secretKeyRef, configMapKeyRef, resourceFieldRef, fieldRef,
 * envFrom) and volumes (emptyDir shared with an init container, secret,
 * configMap items and modes, downwardAPI, projected, hostPath), the service
 * account token that the api-server accepts, probes driving readiness and
 * restarts, preStop hooks, memory limits (OOMKilled), and a kubelet restart
 * that leaves running pods alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { apply, cluster, ctx, k, kemu, kubectl, namespace, netexecContainer, parseJson, podManifest, waitFor } from './helpers.js';

let ns: string;
const getPod = async (name: string): Promise<Pod> => parseJson<Pod>(await k(['get', 'pod', name, '-n', ns, '-o', 'json']));
const ready = (name: string) => k(['wait', '-n', ns, '--for=condition=Ready', `pod/${name}`, '--timeout=60s']);

beforeAll(async () => {
  ns = await namespace('lifecycle');
  await k(['create', 'secret', 'generic', 'creds', '-n', ns, '--from-literal=password=hunter2', '--from-literal=user=admin']);
  await k(['create', 'configmap', 'settings', '-n', ns, '--from-literal=color=blue', '--from-literal=size=L']);
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
  execFileSync('rm', ['-rf', '/tmp/kemu-e2e-hostpath', '/tmp/kemu-e2e-hook']);
});

describe('environment and volumes', () => {
  it('fills env from secrets, configMaps, fields and resources, and mounts every kind of volume', async () => {
    await k(['apply', '-n', ns, '-f', '-'], {
      input: `apiVersion: v1
kind: Pod
metadata: {name: full, labels: {app: full, tier: web}}
spec:
  initContainers:
  - {name: prepare, image: busybox, command: [sh, -c, 'echo prepared > /work/init.txt'], volumeMounts: [{name: work, mountPath: /work}]}
  containers:
  - name: main
    image: busybox
    command: [sh, -c, 'sleep 3600']
    env:
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: settings, key: color}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: GREETING, value: 'hello $(POD_NAME)'}
    envFrom: [{prefix: CFG_, configMapRef: {name: settings}}, {secretRef: {name: creds}}]
    resources: {limits: {memory: 256Mi}}
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: secret, mountPath: /etc/creds, readOnly: true}
    - {name: config, mountPath: /etc/settings}
    - {name: config, mountPath: /etc/colour.txt, subPath: nested/colour}
    - {name: info, mountPath: /etc/podinfo}
    - {name: all, mountPath: /etc/all}
    - {name: host, mountPath: /host}
  volumes:
  - {name: work, emptyDir: {}}
  - {name: secret, secret: {secretName: creds, defaultMode: 0400}}
  - {name: config, configMap: {name: settings, items: [{key: color, path: nested/colour}]}}
  - name: info
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}, {path: name, fieldRef: {fieldPath: metadata.name}}]}
  - name: all
    projected: {sources: [{secret: {name: creds, items: [{key: user, path: user}]}}, {configMap: {name: settings, items: [{key: size, path: size}]}}]}
  - {name: host, hostPath: {path: /tmp/kemu-e2e-hostpath, type: DirectoryOrCreate}}
`,
    });
    await ready('full');
    const sh = (cmd: string) => k(['exec', '-n', ns, 'full', '--', 'sh', '-c', cmd]);
    const pod = await getPod('full');
    expect(await sh('echo "$PASSWORD|$COLOR|$MEM_MI|$POD_NAME|$POD_IP|$GREETING|$CFG_size|$user"')).toBe(
      `hunter2|blue|256|full|${pod.status?.podIP}|hello full|L|admin`,
    );
    expect(await sh('cat /work/init.txt')).toBe('prepared');
    expect(await sh('cat /etc/creds/password; echo; stat -c %a /etc/creds/password')).toBe('hunter2\n400');
    expect(await sh('cat /etc/settings/nested/colour; echo; ls /etc/settings')).toBe('blue\nnested');
    expect(await sh('cat /etc/colour.txt')).toBe('blue'); // one file of a volume, by subPath
    expect(await sh('cat /etc/podinfo/labels; echo; cat /etc/podinfo/name')).toBe('app="full"\ntier="web"\nfull');
    expect(await sh('cat /etc/all/user /etc/all/size')).toBe('adminL');
    await sh('echo from-pod > /host/marker');
    expect(execFileSync('cat', ['/tmp/kemu-e2e-hostpath/marker'], { encoding: 'utf8' })).toBe('from-pod\n');
    const init = pod.status?.initContainerStatuses?.[0];
    expect(init?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(pod.status?.conditions?.find((c) => c.type === 'Initialized')?.status).toBe('True');
    execFileSync('rm', ['-rf', '/tmp/kemu-e2e-hostpath']);
  });

  it('waits with CreateContainerConfigError while a referenced secret is missing', async () => {
    await k([
      'run',
      'nosecret',
      '-n',
      ns,
      '--image=busybox',
      '--overrides',
      JSON.stringify({
        spec: {
          containers: [
            { name: 'nosecret', image: 'busybox', command: ['sleep', '3600'], env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'later', key: 'k' } } }] },
          ],
        },
      }),
    ]);
    await waitFor('CreateContainerConfigError', async () => (await k(['get', 'pod', 'nosecret', '-n', ns])).includes('CreateContainerConfigError'), 30_000);
    await k(['create', 'secret', 'generic', 'later', '-n', ns, '--from-literal=k=now']);
    await ready('nosecret');
    expect(await k(['exec', '-n', ns, 'nosecret', '--', 'printenv', 'X'])).toBe('now');
  });

  it('mounts a service account token the api-server accepts', async () => {
    await k(['run', 'sa', '-n', ns, '--image=busybox', '--', 'sleep', '3600']);
    await ready('sa');
    const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
    expect((await k(['exec', '-n', ns, 'sa', '--', 'ls', dir])).split('\n')).toEqual(['ca.crt', 'namespace', 'token']);
    expect(await k(['exec', '-n', ns, 'sa', '--', 'cat', `${dir}/namespace`])).toBe(ns);
    const pods = `/api/v1/namespaces/${ns}/pods`;
    /** The api-server's answer, from inside the pod, to a GET of `path` with this bearer token. */
    const statusWith = (token: string, path = pods) =>
      k([
        'exec',
        '-n',
        ns,
        'sa',
        '--',
        'sh',
        '-c',
        `curl -s -o /dev/null -w '%{http_code}' --cacert ${dir}/ca.crt -H "Authorization: Bearer ${token}" https://${ctx().subnet}.0.3:6443${path}`,
      ]);
    // Under RBAC the default service account may discover the API, and read pods only once a binding says so.
    expect(await statusWith(`$(cat ${dir}/token)`, '/api')).toBe('200');
    expect(await statusWith(`$(cat ${dir}/token)`)).toBe('403');
    await k(['create', 'rolebinding', 'default-view', '--clusterrole=view', `--serviceaccount=${ns}:default`, '-n', ns]);
    await waitFor('the binding to take effect', async () => (await statusWith(`$(cat ${dir}/token)`)) === '200', 10_000);
    expect(await statusWith(`$(cat ${dir}/token)x`)).toBe('401');
  });
});

describe('probes, hooks and limits', () => {
  it('readiness follows the probe; a failing liveness probe restarts the container', async () => {
    await apply(
      ns,
      podManifest('probed', [
        // Ready only once the test says so, whatever netexec answers.
        { ...netexecContainer('web'), readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 } },
        {
          name: 'doomed',
          image: 'busybox',
          command: ['sleep', '3600'],
          livenessProbe: { httpGet: { path: '/healthz', port: 9999 }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 2 },
        },
      ]),
    );
    await waitFor('running', async () => (await getPod('probed')).status?.containerStatuses?.every((c) => c.state?.running));
    expect((await getPod('probed')).status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    await k(['exec', '-n', ns, 'probed', '-c', 'web', '--', 'touch', '/tmp/ready']);
    await waitFor('web ready', async () => (await getPod('probed')).status?.containerStatuses?.find((c) => c.name === 'web')?.ready, 20_000);
    await waitFor(
      'doomed restarted',
      async () => ((await getPod('probed')).status?.containerStatuses?.find((c) => c.name === 'doomed')?.restartCount ?? 0) >= 1,
      30_000,
    );
    const events = await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=probed']);
    expect(events).toContain('Liveness probe failed: Get "http://');
    expect(events).toContain('Container doomed failed liveness probe, will be restarted');
    expect(events).toContain('Readiness probe failed');
  });

  it('runs preStop before stopping a container', async () => {
    await k(['apply', '-n', ns, '-f', '-'], {
      input: `apiVersion: v1
kind: Pod
metadata: {name: hooked}
spec:
  terminationGracePeriodSeconds: 10
  containers:
  - name: main
    image: busybox
    command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.1; done']
    lifecycle: {preStop: {exec: {command: [sh, -c, 'echo prestop-ran > /hook/out']}}}
    volumeMounts: [{name: hook, mountPath: /hook}]
  volumes: [{name: hook, hostPath: {path: /tmp/kemu-e2e-hook, type: DirectoryOrCreate}}]
`,
    });
    await ready('hooked');
    await k(['delete', 'pod', 'hooked', '-n', ns, '--wait=true', '--timeout=30s']);
    expect(execFileSync('cat', ['/tmp/kemu-e2e-hook/out'], { encoding: 'utf8' })).toBe('prestop-ran\n');
    execFileSync('rm', ['-rf', '/tmp/kemu-e2e-hook']);
  });

  it('kills a container over its memory limit: OOMKilled', async () => {
    await k([
      'run',
      'hog',
      '-n',
      ns,
      '--image=busybox',
      '--restart=Never',
      '--overrides',
      JSON.stringify({
        spec: {
          containers: [
            { name: 'hog', image: 'busybox', command: ['sh', '-c', 'x=a; while true; do x="$x$x"; done'], resources: { limits: { memory: '32Mi' } } },
          ],
        },
      }),
    ]);
    const st = await waitFor('terminated', async () => (await getPod('hog')).status?.containerStatuses?.[0]?.state?.terminated, 30_000);
    expect(st).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    expect(await k(['get', 'pod', 'hog', '-n', ns])).toContain('OOMKilled');
  });
});

describe('kubelet restart', () => {
  it('leaves running pods alone and carries on managing them', async () => {
    const overrides = {
      spec: {
        nodeName: 'node-1',
        // Kubernetes' default 300 s (the fast profile's is 2 s): a kubelet slow to come back on a busy machine makes
        // node-1 NotReady for a while, and this test is about the kubelet's restart, not about taint eviction.
        tolerations: ['not-ready', 'unreachable'].map((t) => ({
          key: `node.kubernetes.io/${t}`,
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        })),
        volumes: [{ name: 'cfg', configMap: { name: 'settings' } }],
        containers: [{ name: 'steady', image: 'nginx', volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }] }],
      },
    };
    await k(['run', 'steady', '-n', ns, '--image=nginx', '--overrides', JSON.stringify(overrides)]);
    await ready('steady');
    const before = (await getPod('steady')).status?.containerStatuses?.[0];
    cluster().killService('node-1', 'SIGTERM'); // stopped for its restart policy until `kemu start`
    await waitFor(
      'kubelet gone',
      () =>
        !kemu('status')
          .split('\n')
          .find((l) => l.startsWith('node-1 '))
          ?.includes(' running '),
      20_000,
    );
    kemu('start');
    await waitFor('node-1 Ready again', async () => /node-1\s+Ready/.test(await k(['get', 'nodes'])), 30_000);
    const after = (await getPod('steady')).status?.containerStatuses?.[0];
    expect(after?.containerID).toBe(before?.containerID);
    expect(after?.restartCount).toBe(0);
    expect(await k(['exec', '-n', ns, 'steady', '--', 'curl', '-s', 'localhost'])).toContain('Welcome to nginx!');
    // Its volumes are the same ones, not set up again under it.
    expect(await k(['exec', '-n', ns, 'steady', '--', 'cat', '/cfg/color'])).toBe('blue');
    // Still managed: deleting it stops it.
    await k(['delete', 'pod', 'steady', '-n', ns, '--timeout=30s']);
  });
});
