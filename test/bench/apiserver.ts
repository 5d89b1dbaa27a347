/**
 * api-server benchmark, against a real cluster from `kemu up` (its own
 * project and subnet, removed afterwards). Prints:
 *   - mutating request latency p50/p99 at a steady 200 requests/s
 *   - LIST of 10,000 pods (full JSON, as kubectl/informers read it)
 *   - watch delivery latency p99 to 100 concurrent watchers
 * Run: npm run bench   (as root; about a minute)
 */
import https from 'node:https';
import type { ClientRequest } from 'node:http';
import { execFileSync } from 'node:child_process';
import { withCluster, type BenchCluster } from './cluster.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { PodList } from 'kubernetes-types/core/v1.js';
import type { Kubeconfig } from '../e2e/helpers.js';

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function main({ state }: BenchCluster): Promise<void> {
  const kc = parse(readFileSync(join(state, 'kubeconfig'), 'utf8')) as Kubeconfig;
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const server = new URL(kc.clusters[0].cluster.server);
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 64,
    ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b64(kc.users[0].user['client-certificate-data']),
    key: b64(kc.users[0].user['client-key-data']),
  });
  const request = (method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; text: string }> =>
    new Promise((res, rej) => {
      const req = https.request(
        { host: server.hostname, port: server.port, path, method, agent, headers: { 'Content-Type': contentType, Accept: 'application/json' } },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => res({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', rej);
      if (body !== undefined) req.write(JSON.stringify(body));
      req.end();
    });
  const ns = async (name: string) => request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

  // 1. Mutating requests at a steady 200/s for 15 s, a third each of creates,
  // merge patches (of 100 existing objects) and deletes (of objects created 0.75 s before).
  await ns('bench-mut');
  for (let i = 0; i < 100; i++)
    await request('POST', '/api/v1/namespaces/bench-mut/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `fixed-${i}` } });
  const rate = 200;
  const seconds = 15;
  // The first 3 s warm the process up (JIT, connection pool) and are not counted.
  const warmup = rate * 3;
  const lat: number[] = [];
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  let measuredFrom = 0;
  for (let i = 0; i < warmup + rate * seconds; i++) {
    if (i === warmup) measuredFrom = performance.now();
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const k = Math.floor(i / 3);
    const base = '/api/v1/namespaces/bench-mut/configmaps';
    const t0 = performance.now();
    let p: Promise<{ status: number; text: string }>;
    if (i % 3 === 0) p = request('POST', base, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${k}` }, data: { i: String(i) } });
    else if (i % 3 === 1) p = request('PATCH', `${base}/fixed-${k % 100}`, { data: { i: String(i) } }, 'application/merge-patch+json');
    else if (k >= 50) p = request('DELETE', `${base}/cm-${k - 50}`);
    else p = request('POST', base, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `extra-${k}` } });
    inflight.push(
      p.then((r) => {
        if (i < warmup) return;
        if (r.status >= 300) errors++;
        lat.push(performance.now() - t0);
      }),
    );
  }
  await Promise.all(inflight);
  const achieved = lat.length / ((performance.now() - measuredFrom) / 1000);
  console.log(
    `mutating requests (create/patch/delete) at ${rate}/s for ${seconds}s: n=${lat.length} achieved=${achieved.toFixed(0)}/s errors=${errors} p50=${ms(quantile(lat, 0.5))} p99=${ms(quantile(lat, 0.99))}`,
  );

  // 2. LIST of 10,000 pods.
  await ns('bench-list');
  // The pods name a scheduler that does not run: this measures the api-server alone. (With no nodes, the default
  // scheduler would try each of 10,000 pods and write a FailedScheduling event and a status for each, as
  // kube-scheduler does — load from another component, not the api-server's own latency.)
  const pod = (i: number) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, labels: { app: 'bench', i: String(i % 10) } },
    spec: {
      schedulerName: 'bench-unscheduled',
      containers: [{ name: 'c', image: 'nginx:1.25', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: 'b' }] }],
    },
  });
  const createStart = performance.now();
  for (let i = 0; i < 10_000; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => request('POST', '/api/v1/namespaces/bench-list/pods', pod(i + j))));
  }
  console.log(`created 10,000 pods in ${((performance.now() - createStart) / 1000).toFixed(1)} s`);
  const listTimes: number[] = [];
  let count = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await request('GET', '/api/v1/namespaces/bench-list/pods');
    count = (JSON.parse(r.text) as PodList).items.length;
    listTimes.push(performance.now() - t0);
  }
  console.log(`LIST 10,000 pods: items=${count} median=${ms(quantile(listTimes, 0.5))} max=${ms(Math.max(...listTimes))} (5 runs, full JSON incl. parse)`);

  // 3. Watch delivery to 100 concurrent watchers.
  await ns('bench-watch');
  const sent = new Map<string, number>();
  const delivery: number[] = [];
  const watchers: ClientRequest[] = [];
  let ready = 0;
  await new Promise<void>((allReady) => {
    for (let w = 0; w < 100; w++) {
      let buf = '';
      const req = https.get(
        {
          host: server.hostname,
          port: server.port,
          path: '/api/v1/namespaces/bench-watch/configmaps?watch=true&resourceVersion=1',
          agent: new https.Agent({ ca: agent.options.ca, cert: agent.options.cert, key: agent.options.key }),
        },
        (res) => {
          if (++ready === 100) allReady();
          res.on('data', (d) => {
            const now = performance.now();
            buf += d;
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              const name = /"name":"(w-\d+)"/.exec(line)?.[1];
              if (name && sent.has(name)) delivery.push(now - sent.get(name)!);
            }
          });
        },
      );
      watchers.push(req);
    }
  });
  for (let i = 0; i < 200; i++) {
    const name = `w-${i}`;
    sent.set(name, performance.now());
    await request('POST', '/api/v1/namespaces/bench-watch/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    await new Promise((r) => setTimeout(r, 20));
  }
  const deadline = Date.now() + 10_000;
  while (delivery.length < 200 * 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  watchers.forEach((w) => w.destroy());
  console.log(
    `watch delivery to 100 watchers (200 creates at 50/s, time from POST sent to event received): n=${delivery.length} p50=${ms(quantile(delivery, 0.5))} p99=${ms(quantile(delivery, 0.99))}`,
  );

  const rss = execFileSync('sh', ['-c', `ps -o rss= -p $(cat ${join(state, 'pids', 'apiserver.pid')})`])
    .toString()
    .trim();
  console.log(`api-server RSS after the run: ${(Number(rss) / 1024).toFixed(0)} MB`);
  agent.destroy();
}

await withCluster('kemu-bench', '172.30', main, 0);
