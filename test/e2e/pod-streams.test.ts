/**
 * Streams through the api-server to the kubelets, with the real kubectl on
 * the cluster's real nodes: exec (exit codes, stdin), logs (tail,
 * timestamps, containers, previous, follow), cp both ways, port-forward,
 * run -i --rm, attach, and the pods/proxy subresource; two containers of a
 * pod over localhost.
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctx, k, kemu, kubectl, namespace, netexecRunArgs, waitFor } from './helpers.js';

let ns: string;
const tmp = mkdtempSync('/tmp/kemu-streams-');

const ready = (name: string) => k(['wait', '-n', ns, '--for=condition=Ready', `pod/${name}`, '--timeout=60s']);

beforeAll(async () => {
  ns = await namespace('streams');
  await k(['apply', '-n', ns, '-f', '-'], {
    input: `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - {name: nginx, image: nginx, ports: [{containerPort: 80}]}
  - name: side
    image: busybox
    command: [sh, -c, 'echo side-started; until curl -s localhost:80 >/dev/null; do sleep 0.2; done; echo "nginx over localhost"; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done']
---
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers:
  - {name: main, image: busybox, command: [sh, -c, 'echo "run at $(date +%s%N)"; sleep 1; exit 3']}
`,
  });
  await Promise.all([
    ready('web'),
    waitFor(
      'crash restarted',
      async () => (await k(['get', 'pod', 'crash', '-n', ns, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])) >= '1',
      60_000,
    ),
  ]);
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
  rmSync(tmp, { recursive: true, force: true });
});

describe('kubectl exec', () => {
  it('runs a command in the container, with its exit code and stdin', async () => {
    expect(await k(['exec', '-n', ns, 'web', '-c', 'side', '--', 'sh', '-c', 'echo out; echo err >&2; hostname'])).toBe('out\nweb');
    const r = await kubectl(['exec', '-n', ns, 'web', '-c', 'side', '--', 'sh', '-c', 'exit 7']);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toContain('command terminated with exit code 7');
    expect(await k(['exec', '-i', '-n', ns, 'web', '-c', 'side', '--', 'sh', '-c', 'tr a-z A-Z'], { input: 'from stdin\n' })).toBe('FROM STDIN');
  });

  it('gives exec -it a terminal of the client’s size', async () => {
    // `script` gives kubectl a terminal of 100x40, as a user's would be.
    const cmd = `stty cols 100 rows 40; kubectl --kubeconfig ${ctx().kubeconfig} exec -it -n ${ns} web -c side -- sh -c 'sleep 0.5; tty; stty size; exit 3'`;
    const r = await execa('script', ['-qec', cmd, '/dev/null'], { reject: false });
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r?\n40 100/);
    expect(r.exitCode).toBe(3);
  });

  it('defaults to the first container and says so; an unknown container is refused', async () => {
    const r = await kubectl(['exec', '-n', ns, 'web', '--', 'cat', '/etc/hostname']);
    expect(r.stdout).toBe('web');
    expect(r.stderr).toContain('Defaulted container "nginx" out of: nginx, side');
    const bad = await kubectl(['exec', '-n', ns, 'web', '-c', 'nope', '--', 'true']);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('container nope is not valid for pod web');
  });
});

describe('kubectl logs', () => {
  it('shows a container’s output, its tail, with timestamps', async () => {
    const all = await k(['logs', '-n', ns, 'web', '-c', 'side']);
    expect(all.split('\n').slice(0, 2)).toEqual(['side-started', 'nginx over localhost']);
    const tail = (await k(['logs', '-n', ns, 'web', '-c', 'side', '--tail=2'])).split('\n');
    expect(tail).toHaveLength(2);
    expect(tail[0]).toMatch(/^tick \d+$/);
    const stamped = await k(['logs', '-n', ns, 'web', '-c', 'side', '--tail=1', '--timestamps']);
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick \d+$/);
    const r = await kubectl(['logs', '-n', ns, 'web']);
    expect(r.stderr).toContain('Defaulted container "nginx"');
  });

  it('shows the previous instance after a restart', async () => {
    const prev = await k(['logs', '-n', ns, 'crash', '--previous']);
    const cur = await k(['logs', '-n', ns, 'crash']);
    expect(prev).toMatch(/^run at \d+$/);
    expect(cur === '' || /^run at \d+$/.test(cur)).toBe(true);
    expect(prev).not.toBe(cur);
  });

  it('follows new output with -f', async () => {
    const f = execa('kubectl', ['--kubeconfig', ctx().kubeconfig, 'logs', '-f', '-n', ns, 'web', '-c', 'side', '--tail=1'], { reject: false });
    let out = '';
    f.stdout.on('data', (d) => (out += d));
    await waitFor('three lines followed', () => out.split('\n').filter((l) => /^tick \d+$/.test(l)).length >= 3, 15_000);
    f.kill('SIGINT');
    const nums = out
      .split('\n')
      .filter(Boolean)
      .map((l) => Number(l.split(' ')[1]));
    expect(nums.slice(1)).toEqual(nums.slice(1).map((_, i) => nums[0] + i + 1)); // in order, none missing
  });
});

describe('kubectl cp, port-forward, run, attach, proxy', () => {
  it('copies files into and out of a container', async () => {
    writeFileSync(join(tmp, 'in.txt'), 'copied in\n');
    await k(['cp', '-n', ns, join(tmp, 'in.txt'), 'web:/tmp/in.txt', '-c', 'side']);
    expect(await k(['exec', '-n', ns, 'web', '-c', 'side', '--', 'cat', '/tmp/in.txt'])).toBe('copied in');
    await k(['cp', '-n', ns, 'web:/etc/hostname', join(tmp, 'out.txt'), '-c', 'side']);
    expect(readFileSync(join(tmp, 'out.txt'), 'utf8')).toBe('web\n');
  });

  it('forwards a local port to the pod', async () => {
    const pf = execa('kubectl', ['--kubeconfig', ctx().kubeconfig, 'port-forward', '-n', ns, 'pod/web', '0:80'], { reject: false });
    let out = '';
    pf.stdout.on('data', (d) => (out += d));
    const port = await waitFor('port-forward listening', () => /127\.0\.0\.1:(\d+) -> 80/.exec(out)?.[1], 15_000);
    for (let i = 0; i < 3; i++) {
      const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      expect(page).toContain('<title>Welcome to nginx!</title>');
    }
    const missing = await fetch(`http://127.0.0.1:${port}/nope`);
    expect(missing.status).toBe(404);
    pf.kill('SIGINT');
  });

  it('forwards to a server that listens on the pod’s localhost only', async () => {
    await k([
      'run',
      '-n',
      ns,
      'local',
      '--image=busybox',
      '--',
      'node',
      '-e',
      "require('http').createServer((q, s) => s.end('local only')).listen(9090, '127.0.0.1')",
    ]);
    await ready('local');
    const pf = execa('kubectl', ['--kubeconfig', ctx().kubeconfig, 'port-forward', '-n', ns, 'pod/local', '0:9090'], { reject: false });
    let out = '';
    pf.stdout.on('data', (d) => (out += d));
    const port = await waitFor('port-forward listening', () => /127\.0\.0\.1:(\d+) -> 9090/.exec(out)?.[1], 15_000);
    expect(await waitFor('answer', async () => (await fetch(`http://127.0.0.1:${port}/`)).text(), 10_000)).toBe('local only');
    pf.kill('SIGINT');
  });

  it('runs a pod interactively, shows its output and removes it (run -i --rm)', async () => {
    const r = await kubectl(
      ['run', '-n', ns, '-i', '--rm', '--restart=Never', 'once', '--image=busybox', '--', 'sh', '-c', 'read x; echo "got $x from $(hostname)"'],
      { input: 'hello\n', timeout: 45_000 },
    );
    expect(r.stdout, r.stderr).toContain('got hello from once');
    await waitFor('pod removed', async () => (await kubectl(['get', 'pod', 'once', '-n', ns])).exitCode !== 0);
  });

  it('attaches to a running container’s stdin and stdout', async () => {
    await k([
      'run',
      '-n',
      ns,
      'echoer',
      '--image=busybox',
      '--restart=Never',
      '--overrides',
      JSON.stringify({
        spec: { containers: [{ name: 'echoer', image: 'busybox', stdin: true, command: ['sh', '-c', 'while read l; do echo "echo: $l"; done'] }] },
      }),
    ]);
    await ready('echoer');
    const a = execa('kubectl', ['--kubeconfig', ctx().kubeconfig, 'attach', '-i', '-n', ns, 'echoer'], { reject: false });
    let out = '';
    a.stdout.on('data', (d) => (out += d));
    await new Promise((r) => setTimeout(r, 1000));
    a.stdin.write('one\n');
    await waitFor('echoed', () => out.includes('echo: one'), 15_000);
    a.kill('SIGINT');
  });

  it('proxies HTTP to a pod port (pods/proxy)', async () => {
    expect(await k(['get', '--raw', `/api/v1/namespaces/${ns}/pods/web:80/proxy/`])).toContain('<title>Welcome to nginx!</title>');
    const r = await kubectl(['get', '--raw', `/api/v1/namespaces/${ns}/pods/web:80/proxy/missing`]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('NotFound');
  });
});

describe('the pod network on the cluster’s nodes', () => {
  it('connects pods on every node over HTTP and UDP (agnhost netexec /dial), and nodes to pods', async () => {
    const nodes = ['node-1', 'node-2', 'node-3'];
    for (const node of nodes) {
      await k(['-n', ns, ...netexecRunArgs(`nx-${node}`, node)]);
    }
    await k(['wait', '-n', ns, '--for=condition=Ready', ...nodes.map((n) => `pod/nx-${n}`), '--timeout=60s']);
    const ips = Object.fromEntries(
      await Promise.all(nodes.map(async (n): Promise<[string, string]> => [n, await k(['get', 'pod', '-n', ns, `nx-${n}`, '-o', 'jsonpath={.status.podIP}'])])),
    );
    for (const from of nodes) {
      for (const to of nodes) {
        for (const [protocol, port] of [
          ['http', 8080],
          ['udp', 8081],
        ] as const) {
          const url = `http://localhost:8080/dial?host=${ips[to]}&port=${port}&request=hostname&protocol=${protocol}&tries=1`;
          expect(JSON.parse(await k(['exec', '-n', ns, `nx-${from}`, '--', 'curl', '-s', url])), `${from} -> ${to} over ${protocol}`).toEqual({
            responses: [`nx-${to}`],
            errors: [],
          });
        }
      }
      // The pod sees the caller's own address: no NAT between pods.
      const seen = await k(['exec', '-n', ns, `nx-${from}`, '--', 'curl', '-s', `http://${ips[nodes[(nodes.indexOf(from) + 1) % 3]]}:8080/clientip`]);
      expect(seen.split(':')[0]).toBe(ips[from]);
    }
    // Node to pod: from node-1's namespace to a pod on node-3, without NAT either.
    expect(kemu('exec', 'node-1', '--', 'curl', '-s', `http://${ips['node-3']}:8080/hostname`)).toBe('nx-node-3');
  });
});
