/**
 * Requests per second through a ClusterIP against the same pod by its pod IP, in every kube-proxy mode, on a
 * cluster from `kemu up` (3 nodes): Debian's wrk in a client pod's network namespace on node-1 loads a real nginx
 * (image nginx, access log off) on node-2, alternately by pod IP and by the Service's ClusterIP, a few rounds each;
 * the medians, wrk's p99 latency and the ratio per mode. iptables first, then nftables, userspace and ipvs (the
 * last two carry every byte through kube-proxy's own proxy on node-1), switched with `kemu up --proxy-mode`.
 * Run: npm run bench:proxy-throughput   (as root; wrk installed by scripts/setup.sh; about 10 minutes)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '@kemu/client';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { withCluster, type BenchCluster } from './cluster.js';

const PROJECT = process.env.KEMU_BENCH_PROJECT ?? 'kemu-bench-proxy';
const SUBNET = process.env.KEMU_BENCH_SUBNET ?? '172.30';
const NS = 'bench-tput';
const MODES = ['iptables', 'nftables', 'userspace', 'ipvs'] as const;
const ROUNDS = 5;
const SECONDS = 8;
const CONNECTIONS = 16;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

interface WrkResult {
  rps: number;
  p99ms: number;
}

/** wrk's "Requests/sec" and the 99% line of --latency, in ms. */
function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const m = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  const p99ms = m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as 'us' | 'ms' | 's'] : NaN;
  if (!Number.isFinite(rps)) throw new Error(`wrk said: ${out}`);
  return { rps, p99ms };
}

async function main({ state, kemu }: BenchCluster): Promise<void> {
  const c = new ApiClient({
    address: `${SUBNET}.0.3:6444`,
    ca: readFileSync(join(state, 'pki', 'ca.crt')),
    token: readFileSync(join(state, 'pki', 'admin.token'), 'utf8').trim(),
  });
  const pods = { version: 'v1', resource: 'pods', namespace: NS };
  try {
    await c.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // The official image logs every request to stdout, which the kubelet copies to the pod's log: off, or the
    // benchmark would measure the log pipeline.
    await c.create(
      { version: 'v1', resource: 'configmaps', namespace: NS },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'web-conf' },
        data: { 'default.conf': 'server {\n  listen 80;\n  access_log off;\n  location / {\n    root /usr/share/nginx/html;\n  }\n}\n' },
      },
    );
    await c.create(pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        nodeName: 'node-2',
        containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], volumeMounts: [{ name: 'conf', mountPath: '/etc/nginx/conf.d' }] }],
        volumes: [{ name: 'conf', configMap: { name: 'web-conf' } }],
      },
    });
    await c.create(pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client' },
      spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
    });
    const svc = (await c.create(
      { version: 'v1', resource: 'services', namespace: NS },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80 }] } },
    )) as Service;
    const ready = async (name: string): Promise<Pod> => {
      for (let i = 0; i < 600; i++) {
        const p = (await c.get(pods, name)) as Pod;
        if ((p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True')) return p;
        await sleep(200);
      }
      throw new Error(`pod ${name} never became Ready`);
    };
    const web = await ready('web');
    const client = await ready('client');
    const clientNs = `${PROJECT}-p-${(client.metadata?.uid ?? '').slice(0, 8)}`;
    const podURL = `http://${web.status?.podIP}/`;
    const serviceURL = `http://${svc.spec?.clusterIP}/`;
    const inClient = (...argv: string[]) => spawnSync('ip', ['netns', 'exec', clientNs, ...argv], { encoding: 'utf8' });
    const wrk = (url: string): WrkResult =>
      parseWrk(execFileSync('ip', ['netns', 'exec', clientNs, 'wrk', '-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url], { encoding: 'utf8' }));

    for (const mode of MODES) {
      if (mode !== 'iptables') kemu('up', '--proxy-mode', mode);
      // Until this mode's kube-proxy on the client's node says it runs and the ClusterIP answers through it.
      for (let i = 0; ; i++) {
        const said = await fetch(`http://${SUBNET}.1.1:10249/proxyMode`).then(
          (r) => r.text(),
          () => '',
        );
        const answered = inClient('curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', serviceURL).stdout === '200';
        if (said === mode && answered) break;
        if (i > 300) throw new Error(`${mode}: the ClusterIP does not answer`);
        await sleep(500);
      }
      wrk(serviceURL); // warm-up: nginx's workers, the userspace proxy's JIT, conntrack
      const byPod: WrkResult[] = [];
      const byService: WrkResult[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        byPod.push(wrk(podURL));
        byService.push(wrk(serviceURL));
      }
      const pod = { rps: median(byPod.map((x) => x.rps)), p99: median(byPod.map((x) => x.p99ms)) };
      const cip = { rps: median(byService.map((x) => x.rps)), p99: median(byService.map((x) => x.p99ms)) };
      const fmt = (x: { rps: number; p99: number }) => `${Math.round(x.rps).toLocaleString('en-US')} req/s (p99 ${x.p99.toFixed(1)} ms)`;
      console.log(
        `${mode}: wrk -t2 -c${CONNECTIONS}, ${SECONDS} s × ${ROUNDS} rounds each, medians: pod IP ${fmt(pod)}, ClusterIP ${fmt(cip)}; ratio ${(cip.rps / pod.rps).toFixed(2)}`,
      );
    }
  } finally {
    c.close();
  }
}

await withCluster(PROJECT, SUBNET, main, 3);
