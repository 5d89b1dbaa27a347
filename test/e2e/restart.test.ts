/**
 * Restarts: the api-server killed and started again keeps every object and
 * lets a watcher resume without missing an event; etcd restarting makes
 * /readyz say not-ready until the api-server has reconnected by itself.
 */
import https from 'node:https';
import { describe, expect, it } from 'vitest';
import type { Status, WatchEvent } from '@kemu/api';
import type { ConfigMapList } from 'kubernetes-types/core/v1.js';
import { api, cluster, creds, kemu, namespace, parseJson, waitFor } from './helpers.js';

/** SIGKILL, as `docker kill`: its restart policy leaves it down until `kemu start`. */
function kill(service: string): void {
  cluster().killService(service);
}

/** A raw REST watch collecting `TYPE name` lines. */
function watch(path: string): { events: string[]; close: () => void; ended: Promise<void> } {
  const c = creds();
  const events: string[] = [];
  let buf = '';
  let req: import('node:http').ClientRequest;
  const ended = new Promise<void>((resolve) => {
    req = https.get({ host: c.server.hostname, port: c.server.port, path, ca: c.ca, cert: c.cert, key: c.key }, (res) => {
      res.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const ev = parseJson<WatchEvent<{ metadata?: { name?: string }; code?: number }>>(buf.slice(0, i));
          buf = buf.slice(i + 1);
          events.push(`${ev.type} ${ev.object.metadata?.name ?? ev.object.code}`);
        }
      });
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
  });
  return { events, close: () => req.destroy(), ended };
}

const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });

describe('restarts', () => {
  it('an api-server restart keeps every object, and a watch resumed from before it misses nothing', async () => {
    const ns = await namespace('restart');
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await api('POST', base, cm('before'));
    const list = await api<ConfigMapList>('GET', base);
    const rv = list.body.metadata?.resourceVersion;
    const w = watch(`${base}?watch=true&resourceVersion=${rv}`);
    await api('POST', base, cm('seen-live'));
    await waitFor('the live event', () => w.events.includes('ADDED seen-live'));

    kill('apiserver');
    await w.ended; // the stream ends with the process
    kemu('start');
    await waitFor('the api-server back', async () => (await api('GET', '/readyz')).text === 'ok', 30_000);

    // Written after the restart, before the watcher comes back.
    await api('POST', base, cm('after-restart'));
    await api('DELETE', `${base}/before`);
    // kube-root-ca.crt (the root CA publisher's) comes and goes with the namespace, not with this test.
    const mine = (n: string) => !n.endsWith('kube-root-ca.crt');
    const names = (await api<ConfigMapList>('GET', base)).body.items.map((i) => i.metadata?.name ?? '').filter(mine);
    expect(names).toEqual(['after-restart', 'seen-live']);

    // Resume from the version seen before the restart: every later event arrives, none twice.
    const resumed = watch(`${base}?watch=true&resourceVersion=${rv}`);
    await waitFor('the missed events', () => resumed.events.includes('DELETED before'));
    expect(resumed.events.filter(mine)).toEqual(['ADDED seen-live', 'ADDED after-restart', 'DELETED before']);
    resumed.close();
  });

  it('etcd restarting makes /readyz not-ready; the api-server reconnects and watches carry on', async () => {
    const ns = await namespace('etcd-restart');
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const rv = (await api<ConfigMapList>('GET', base)).body.metadata?.resourceVersion;
    const w = watch(`${base}?watch=true&resourceVersion=${rv}`);
    await api('POST', base, cm('one'));
    await waitFor('first event', () => w.events.includes('ADDED one'));

    kill('etcd');
    await waitFor('/readyz to fail', async () => (await api('GET', '/readyz')).status === 503, 15_000);
    const during = await api<Status>('POST', base, cm('during'));
    expect(during.status).toBeGreaterThanOrEqual(500);
    expect(during.body.kind).toBe('Status');

    kemu('start');
    await waitFor('/readyz to pass', async () => (await api('GET', '/readyz')).text === 'ok', 30_000);
    await waitFor('writes to work again', async () => (await api('POST', base, cm('two'))).status === 201, 15_000);
    await waitFor('the watch to see the write after etcd came back', () => w.events.includes('ADDED two'), 15_000);
    expect(w.events.filter((e) => e === 'ADDED one')).toHaveLength(1);
    w.close();
  });
});
