/**
 * Containers as processes on real namespaces: the pod's network and
 * hostname, a private root (writes and mount points never reach the host),
 * bind-mounted files and volumes, a shared network between two containers
 * of one pod, and signals to the whole process group.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, deleteSandbox, ensureBridge } from '../../services/kubelet/src/network/sandbox.js';
import { adoptContainer, removeContainer, startContainer, type ContainerConfig, type ContainerHandle } from '../../services/kubelet/src/runtime/container.js';
import { LogPump, renderLog } from '../../services/kubelet/src/runtime/logs.js';
import { spawnSync } from 'node:child_process';
import { containerArgv, imagesMount, IMAGES_DIR, lookupImage } from '../../services/kubelet/src/runtime/catalog.js';
import { waitFor } from './helpers.js';

const NODE = 'kemu-rt-node';
const POD = 'kemu-rt-pod';
const dir = mkdtempSync('/tmp/kemu-rt-');
const running: ContainerHandle[] = [];

beforeAll(async () => {
  spawnSync('ip', ['netns', 'add', NODE]);
  spawnSync('ip', ['-n', NODE, 'link', 'set', 'lo', 'up']);
  ensureBridge(NODE, '10.251.0.0/24', '10.251.0.1');
  await createSandbox(NODE, POD, '10.251.0.2', '10.251.0.0/24', '10.251.0.1');
});

afterAll(() => {
  for (const c of running) c.signal('SIGKILL');
  deleteSandbox(POD);
  deleteSandbox(NODE);
  rmSync(dir, { recursive: true, force: true });
});

const run = async (
  id: string,
  argv: string[],
  extra: Pick<Partial<ContainerConfig>, 'mounts' | 'env' | 'memoryLimit' | 'layers' | 'users' | 'workingDir'> = {},
) => {
  const c = await startContainer(
    {
      id,
      podNs: POD,
      hostname: 'web-7d4b9',
      argv,
      env: extra.env ?? {},
      mounts: extra.mounts ?? [],
      stateDir: join(dir, 'containers'),
      memoryLimit: extra.memoryLimit,
      layers: extra.layers,
      users: extra.users,
      workingDir: extra.workingDir,
    },
    `kemu-rt-${id}`,
  );
  const pump = new LogPump(join(dir, `${id}.log`), c.fifos);
  running.push(c);
  // Wait for the exit and the last of the output.
  return Object.assign(c, { done: c.exited.then(async (x) => (await pump.close(), x)) });
};
const logOf = (id: string) => renderLog(readFileSync(join(dir, `${id}.log`), 'utf8'));

describe('container runtime', () => {
  it('runs a process with the pod hostname, its network, the kubelet files and volumes, in a private root', async () => {
    const volume = join(dir, 'vol');
    spawnSync('mkdir', ['-p', volume]);
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(resolv, 'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    const c = await run(
      'c1',
      [
        'sh',
        '-c',
        'hostname; cat /etc/resolv.conf; ip -4 -o addr show dev eth0 | tr -s " " | cut -d" " -f4; echo "$GREETING"; echo written > /data/out; mkdir -p /kemu-private && echo ok',
      ],
      {
        mounts: [
          { source: resolv, target: '/etc/resolv.conf', readOnly: true },
          { source: volume, target: '/data' },
        ],
        env: { GREETING: 'hello from env' },
      },
    );
    const { code } = await c.done;
    const log = logOf('c1');
    expect(code, log).toBe(0);
    expect(log).toBe(
      'web-7d4b9\nnameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n10.251.0.2/24\nhello from env\nok\n',
    );
    expect(readFileSync(join(volume, 'out'), 'utf8')).toBe('written\n');
    expect(existsSync('/kemu-private')).toBe(false);
    expect(readFileSync('/etc/resolv.conf', 'utf8')).not.toContain('10.96.0.10');
    removeContainer(join(dir, 'containers'), 'c1');
  });

  it('lets two containers of one pod talk over localhost, and stops a container with a signal', async () => {
    const server = await run('srv', [process.execPath, '-e', "require('http').createServer((q,s)=>s.end('from sidecar')).listen(9000)"]);
    const client = await run('cli', ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do curl -s http://127.0.0.1:9000 && exit 0; sleep 0.2; done; exit 1']);
    expect((await client.done).code).toBe(0);
    expect(logOf('cli')).toBe('from sidecar\n'); // an unfinished last line ends the log as a full line, as CRI logs do
    server.signal('SIGTERM');
    expect((await server.done).code).toBe(143); // 128 + SIGTERM, as a runtime reports it
    await waitFor('sleeping container gone', async () => {
      const s = await run('sleeper', ['sleep', '300']);
      await new Promise((r) => setTimeout(r, 200));
      s.signal('SIGKILL');
      return (await s.done).code === 137;
    });
  });

  it('runs the nginx image: the welcome page on port 80 of the pod IP', async () => {
    const image = lookupImage('nginx:1.25');
    const c = await run('nginx', containerArgv(image), { mounts: [imagesMount()], layers: image.layers?.map((l) => join(IMAGES_DIR, l)), users: image.users });
    const page = await waitFor(
      'nginx answering',
      () => spawnSync('ip', ['netns', 'exec', NODE, 'curl', '-s', '--max-time', '2', 'http://10.251.0.2/'], { encoding: 'utf8' }).stdout || undefined,
      10_000,
    );
    expect(page).toContain('<title>Welcome to nginx!</title>');
    const missing = spawnSync('ip', ['netns', 'exec', NODE, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.251.0.2/nope'], {
      encoding: 'utf8',
    }).stdout;
    expect(missing).toBe('404');
    c.signal('SIGTERM');
    expect((await c.done).code).toBe(0); // nginx stops cleanly on SIGTERM
    expect(logOf('nginx')).toMatch(/10\.251\.0\.1 - - \[.*\] "GET \/ HTTP\/1\.1" 200/);
  });

  it('kills a container over its memory limit: exit 137, OOMKilled', async () => {
    const c = await run('hog', ['sh', '-c', 'x=a; while true; do x="$x$x"; done'], { memoryLimit: 32 * 2 ** 20 });
    expect(await c.done).toEqual({ code: 137, oomKilled: true });
  });

  it('keeps output flowing to a new reader, as after a kubelet restart', async () => {
    const c = await run('talker', ['sh', '-c', 'for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 0.2; done']);
    await new Promise((r) => setTimeout(r, 300));
    const again = adoptContainer(join(dir, 'containers'), 'talker', 100)!;
    expect(again.pid).toBe(c.pid);
    expect((await again.exited).code).toBe(0);
    expect(logOf('talker')).toBe('tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ntick 6\n');
  });
});
