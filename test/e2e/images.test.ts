/**
 * The common images run the real programs, driven with the real kubectl:
 * nginx is Debian's nginx with the official image's files (the welcome
 * page, access log on stdout, conf.d honoured, so a ConfigMap there
 * configures it), stopped with its pod; the TLS nginx of the tutorials and
 * sparcflow/nginx are the same nginx with their own server blocks; redis is
 * redis-server with redis-cli beside it; agnhost carries the tools
 * Kubernetes' network and DNS tests exec into it; busybox's nc takes -u;
 * busyboxplus' nslookup prints the old busybox format.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { ctx, k, kubectl, namespace, selfSignedCert, waitFor } from './helpers.js';

let ns: string;
const tmp = mkdtempSync('/tmp/kemu-images-');

const ready = (...names: string[]) => k(['wait', '-n', ns, '--for=condition=Ready', ...names.map((n) => `pod/${n}`), '--timeout=90s']);
const podIP = (name: string) => k(['get', 'pod', name, '-n', ns, '-o', 'jsonpath={.status.podIP}']);
const exec = (pod: string, ...argv: string[]) => k(['exec', '-n', ns, pod, '--', ...argv]);
/** A page fetched from the client pod, once the server listens (Ready says nothing of the listener). */
const fetch = (url: string, ...flags: string[]) =>
  waitFor(
    `answer from ${url}`,
    async () => (await kubectl(['exec', '-n', ns, 'client', '--', 'curl', '-sS', '--max-time', '2', ...flags, url])).stdout || undefined,
    30_000,
    300,
  );

const SERVER_BLOCK = `server {
    listen 8080;
    location / {
        default_type text/plain;
        return 200 'configured by a ConfigMap\\n';
    }
}
`;

beforeAll(async () => {
  ns = await namespace('images');
  selfSignedCert(tmp, 'nginx', 'my-nginx');
  await k(['create', 'secret', 'generic', 'nginxsecret', '-n', ns, `--from-file=${join(tmp, 'nginx.crt')}`, `--from-file=${join(tmp, 'nginx.key')}`]);
  await k(['create', 'configmap', 'site', '-n', ns, '--from-literal', `site.conf=${SERVER_BLOCK}`]);
  await k(['apply', '-n', ns, '-f', '-'], {
    input: `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: nginx, image: 'nginx:1.25', ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: custom}
spec:
  volumes: [{name: conf, configMap: {name: site}}]
  containers: [{name: nginx, image: nginx, volumeMounts: [{name: conf, mountPath: /etc/nginx/conf.d}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: https}
spec:
  volumes: [{name: secret-volume, secret: {secretName: nginxsecret}}]
  containers: [{name: nginxhttps, image: 'bprashanth/nginxhttps:1.0', volumeMounts: [{name: secret-volume, mountPath: /etc/nginx/ssl}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: sparc}
spec:
  containers: [{name: nginx, image: sparcflow/nginx}]
---
apiVersion: v1
kind: Pod
metadata: {name: cache}
spec:
  containers: [{name: redis, image: 'redis:7'}]
---
apiVersion: v1
kind: Pod
metadata: {name: tools}
spec:
  containers: [{name: agnhost, image: 'registry.k8s.io/e2e-test-images/agnhost:2.39', args: [pause]}]
---
apiVersion: v1
kind: Pod
metadata: {name: udp}
spec:
  containers: [{name: listen, image: busybox, command: [sh, -c, 'nc -u -l -p 5005']}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: 'radial/busyboxplus:curl', command: [sleep, '3600']}]
`,
  });
  await ready('web', 'custom', 'https', 'sparc', 'cache', 'tools', 'udp', 'client');
}, 150_000);

afterAll(async () => {
  await k(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('nginx', () => {
  it('serves the stock welcome page and logs the request as the official image does', async () => {
    const page = await fetch(`http://${await podIP('web')}/`);
    expect(page).toContain('<title>Welcome to nginx!</title>');
    const client = await podIP('client');
    const logs = await waitFor('access logged', async () => {
      const l = await k(['logs', '-n', ns, 'web']);
      return l.includes(`${client} - - [`) && l;
    });
    expect(logs).toContain('/docker-entrypoint.sh: Configuration complete; ready for start up');
    expect(logs).toMatch(new RegExp(`${client.replace(/\./g, '\\.')} - - \\[[^\\]]+\\] "GET / HTTP/1\\.1" 200 615 "-" "curl/[^"]+" "-"`));
    // The real program, as the image's account, with the image's files; the machine's own /etc/nginx untouched.
    expect(
      await exec('web', 'sh', '-c', 'nginx -v 2>&1; ps -o user= -p "$(cat /var/run/nginx.pid)"; ps -o user= --ppid "$(cat /var/run/nginx.pid)" | sort -u'),
    ).toMatch(/^nginx version: nginx\/[\d.]+\nroot\nnginx$/);
    expect(await exec('web', 'ls', '/etc/nginx/conf.d')).toBe('default.conf');
    expect(readdirSync('/etc/nginx/conf.d')).not.toContain('default.conf');
  });

  it('takes its server blocks from a ConfigMap mounted at /etc/nginx/conf.d', async () => {
    const ip = await podIP('custom');
    expect(await fetch(`http://${ip}:8080/`)).toBe('configured by a ConfigMap');
    // The ConfigMap replaced the directory: the stock server on 80 is gone.
    const r = await kubectl(['exec', '-n', ns, 'client', '--', 'curl', '-sS', '--max-time', '2', `http://${ip}/`]);
    expect(r.exitCode).not.toBe(0);
    expect(await exec('custom', 'ls', '/etc/nginx/conf.d')).toBe('site.conf');
  });

  it('bprashanth/nginxhttps serves the page over TLS with the certificate mounted at /etc/nginx/ssl, and over HTTP', async () => {
    const ip = await podIP('https');
    expect(await fetch(`https://${ip}/`, '-k')).toContain('<title>Welcome to nginx!</title>');
    expect(await fetch(`http://${ip}/`)).toContain('<title>Welcome to nginx!</title>');
    const subject = await exec('client', 'sh', '-c', `curl -skv https://${ip}/ -o /dev/null 2>&1 | grep -i 'subject:'`);
    expect(subject).toContain('CN=my-nginx');
  });

  it('sparcflow/nginx is nginx on 8080, with bash in the container', async () => {
    expect(await fetch(`http://${await podIP('sparc')}:8080/`)).toContain('<title>Welcome to nginx!</title>');
    expect(await exec('sparc', 'bash', '-c', 'echo "bash $BASH_VERSION"')).toMatch(/^bash \d/);
  });

  it("stops with its pod, gracefully (the image's STOPSIGNAL, SIGQUIT): no nginx process of it is left on the machine", async () => {
    const master = Number(await exec('web', 'cat', '/var/run/nginx.pid'));
    const pids = [
      master,
      ...execFileSync('pgrep', ['-P', String(master)], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map(Number),
    ];
    expect(pids.length).toBeGreaterThan(1); // the master and its workers
    for (const pid of pids) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/^nginx: (master|worker) process/);
    // Its log to the end, read as it comes: following from before the deletion, until the container is gone.
    const follow = execa('kubectl', ['--kubeconfig', ctx().kubeconfig, 'logs', '-f', '-n', ns, 'web'], { reject: false, timeout: 60_000 });
    await new Promise((r) => follow.stdout?.once('data', r));
    await k(['delete', 'pod', 'web', '-n', ns, '--timeout=60s']);
    const log = String((await follow).stdout);
    expect(log).toMatch(/signal 3 \(SIGQUIT\) received from \d+, shutting down/);
    expect(log).toContain('gracefully shutting down');
    const alive = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('nginx:');
      } catch {
        return false;
      }
    };
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe('redis', () => {
  it('is redis-server: redis-cli in the container, and from another pod (protected mode off, as in the image)', async () => {
    expect(await exec('cache', 'redis-cli', 'set', 'greeting', 'hello')).toBe('OK');
    expect(await exec('cache', 'redis-cli', 'get', 'greeting')).toBe('hello');
    const ip = await podIP('cache');
    expect(await exec('client', 'redis-cli', '-h', ip, 'get', 'greeting')).toBe('hello');
    expect(await exec('cache', 'redis-cli', 'config', 'get', 'dir')).toBe('dir\n/data');
    expect(await exec('cache', 'sh', '-c', 'ps -o user=,args= -p "$(redis-cli info server | sed -n "s/^process_id:\\([0-9]*\\).*/\\1/p")"')).toMatch(
      /^redis\s+redis-server \*:6379/,
    );
    expect(await k(['logs', '-n', ns, 'cache'])).toContain('Ready to accept connections');
  });
});

describe('tools in the images', () => {
  it('agnhost has bind9 dig, nslookup and host, curl, OpenBSD nc, ip and iperf', async () => {
    expect((await kubectl(['exec', '-n', ns, 'tools', '--', 'dig', '-v'])).stderr).toMatch(/^DiG 9\./);
    // It runs and asks the pod's resolver; the answer may be empty until the cluster has DNS.
    const dig = await kubectl(['exec', '-n', ns, 'tools', '--', 'dig', '+short', '+time=1', '+tries=1', 'kubernetes.default.svc.cluster.local']);
    expect(dig.stderr).not.toMatch(/not found|No such file/);
    expect(
      await exec('tools', 'sh', '-c', 'nslookup -version 2>&1; host -V 2>&1; curl --version | head -n 1; nc -h 2>&1 | head -n 1; ip -V; iperf -v 2>&1; true'),
    ).toMatch(/^nslookup 9\.[\s\S]*host 9\.[\s\S]*curl \d[\s\S]*OpenBSD netcat[\s\S]*ip utility[\s\S]*iperf version 2/);
  });

  it('nc -u: agnhost sends a datagram to busybox nc listening on UDP', async () => {
    const ip = await podIP('udp');
    await waitFor('datagram received', async () => {
      await exec('tools', 'sh', '-c', `echo over-udp | nc -u -w1 ${ip} 5005`);
      return (await k(['logs', '-n', ns, 'udp'])).includes('over-udp');
    });
  });

  it('jessie-dnsutils and tutum/dnsutils have dig', async () => {
    for (const [name, image] of [
      ['jessie', 'registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3'],
      ['tutum', 'tutum/dnsutils'],
    ]) {
      const r = await kubectl([
        'run',
        name,
        '-n',
        ns,
        '--image',
        image,
        '--restart=Never',
        '-i',
        '--rm',
        '--command',
        '--',
        'sh',
        '-c',
        'dig -v 2>&1; nslookup -version 2>&1',
      ]);
      expect(r.stdout).toMatch(/DiG 9\.[\s\S]*nslookup 9\./);
    }
  });

  it("radial/busyboxplus' nslookup prints the old busybox format tutorials show", async () => {
    const out = await exec('client', 'nslookup', 'localhost');
    // The server's line has its name when the cluster's DNS answers for its address; localhost comes from /etc/hosts.
    expect(out).toMatch(/^Server: {4}\S+\nAddress 1: \S+.*\n\nName: {6}localhost\n(Address \d: \S+ localhost\n?)+$/);
    expect(out).toContain(' 127.0.0.1 localhost');
  });
});
