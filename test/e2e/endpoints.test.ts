/**
 * Endpoints and EndpointSlices with the real kubectl: a Deployment exposed
 * with `kubectl expose` lists its pods' IPs in `kubectl get ep`, in slices
 * labelled for the Service and in `kubectl describe svc`; scaling to 0 and
 * back empties and refills them; a named targetPort resolves per pod; a
 * Service without a selector keeps hand-written Endpoints, mirrored into a slice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from 'kubernetes-types/core/v1.js';
import { apply, deploymentManifest, k, kubectl, namespace, netexecContainer, podManifest, waitFor } from './helpers.js';

let ns: string;

/** agnhost netexec on `port`, the container port named http. */
const netexecHttp = (port: number): Container => ({ ...netexecContainer('netexec', { port }), ports: [{ name: 'http', containerPort: port }] });

const deployment = deploymentManifest('web', 2, { terminationGracePeriodSeconds: 1, containers: [netexecHttp(8080)] }, { tier: 'mixed' });

interface Json {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    status?: { podIP?: string };
    endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
    ports?: { port: number }[];
  }[];
}
const getJson = async (...args: string[]): Promise<Json> => JSON.parse(await k(['get', '-n', ns, ...args, '-o', 'json'])) as Json;
/** The IPs of the Ready pods matching a selector. */
const readyPodIPs = async (selector: string): Promise<string[]> => {
  const out = await k([
    'get',
    'pods',
    '-n',
    ns,
    '-l',
    selector,
    '-o',
    'jsonpath={range .items[*]}{.status.podIP}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
  ]);
  return out
    .split('\n')
    .filter((l) => l.endsWith(' True'))
    .map((l) => l.split(' ')[0])
    .sort();
};
/** `kubectl get ep` ENDPOINTS column, as a sorted list. */
const epColumn = async (name: string): Promise<string> => {
  const line = (await k(['get', 'ep', name, '-n', ns, '--no-headers'])).trim();
  const col = line.split(/\s+/)[1] ?? '';
  return col === '<none>' ? col : col.split(',').sort().join(',');
};
const sliceIPs = (j: Json) => j.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses)).sort();

beforeAll(async () => {
  await waitFor('nodes Ready', async () => /node-3\s+Ready/.test(await k(['get', 'nodes'])), 30_000);
  ns = await namespace('endpoints');
  await apply(ns, deployment);
  await waitFor('2 ready pods', async () => (await readyPodIPs('app=web')).length === 2, 60_000, 250);
});
afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('endpoints', () => {
  let ips: string[];

  it('kubectl expose: kubectl get ep lists the Ready pods’ IP:port', async () => {
    await k(['expose', 'deployment', 'web', '-n', ns, '--port=80', '--target-port=8080']);
    ips = await readyPodIPs('app=web');
    const want = ips.map((ip) => `${ip}:8080`).join(',');
    await waitFor('ep web', async () => (await epColumn('web')) === want);
    const ep = JSON.parse(await k(['get', 'ep', 'web', '-n', ns, '-o', 'json'])) as {
      metadata: { annotations?: Record<string, string> };
      subsets: { addresses: { targetRef: { kind: string; name: string } }[] }[];
    };
    expect(ep.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(ep.subsets[0].addresses.map((a) => a.targetRef.kind)).toEqual(['Pod', 'Pod']);
  });

  it('kubectl get endpointslices: one slice labelled for the Service, managed by the controller', async () => {
    const slices = await waitFor('slice', async () => {
      const j = await getJson('endpointslices', '-l', 'kubernetes.io/service-name=web');
      return j.items.length === 1 && sliceIPs(j).join(',') === ips.join(',') && j;
    });
    const s = slices.items[0];
    expect(s.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(s.metadata.labels?.['endpointslice.kubernetes.io/managed-by']).toBe('endpointslice-controller.k8s.io');
    expect(s.ports?.map((p) => p.port)).toEqual([8080]);
    const table = await k(['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=web']);
    expect(table).toMatch(new RegExp(`${s.metadata.name}\\s+IPv4\\s+8080\\s+\\S*${ips[0].replace(/\./g, '\\.')}`));
  });

  it('kubectl describe svc shows the Endpoints', async () => {
    const out = await k(['describe', 'svc', 'web', '-n', ns]);
    const line = out.split('\n').find((l) => l.startsWith('Endpoints:')) ?? '';
    for (const ip of ips) expect(line).toContain(`${ip}:8080`);
  });

  it('a named targetPort resolves per pod: different numbers, different subsets and slices', async () => {
    await apply(
      ns,
      podManifest('alt', [netexecHttp(9090)], { terminationGracePeriodSeconds: 1 }, { tier: 'mixed' }),
      `apiVersion: v1
kind: Service
metadata: {name: mixed}
spec:
  selector: {tier: mixed}
  ports: [{name: web, port: 80, targetPort: http}]
`,
    );
    const alt = await waitFor('alt ready', async () => (await readyPodIPs('tier=mixed')).find((ip) => !ips.includes(ip)), 60_000, 250);
    const want = [...ips.map((ip) => `${ip}:8080`), `${alt}:9090`].sort().join(',');
    await waitFor('ep mixed', async () => (await epColumn('mixed')) === want);
    const ep = JSON.parse(await k(['get', 'ep', 'mixed', '-n', ns, '-o', 'json'])) as {
      subsets: { addresses: { ip: string }[]; ports: { name: string; port: number }[] }[];
    };
    expect(ep.subsets.map((s) => [s.ports, s.addresses.map((a) => a.ip).sort()]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [
        [[{ name: 'web', port: 8080, protocol: 'TCP' }], ips],
        [[{ name: 'web', port: 9090, protocol: 'TCP' }], [alt]],
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    const slices = await waitFor('2 slices', async () => {
      const j = await getJson('endpointslices', '-l', 'kubernetes.io/service-name=mixed');
      return j.items.length === 2 && sliceIPs(j).length === 3 && j;
    });
    expect(slices.items.map((s) => s.ports?.map((p) => p.port)[0]).sort()).toEqual([8080, 9090]);
  });

  it('scaled to 0 the Service has no endpoints (and one empty slice); scaled back, the new pods’', async () => {
    await k(['scale', 'deployment', 'web', '-n', ns, '--replicas=0']);
    // Generous deadlines: pods stop and start on a machine other clusters share.
    await waitFor('ep <none>', async () => (await epColumn('web')) === '<none>', 120_000, 250);
    const empty = await waitFor('one empty slice', async () => {
      const j = await getJson('endpointslices', '-l', 'kubernetes.io/service-name=web');
      return j.items.length === 1 && !(j.items[0].endpoints ?? []).length && j;
    });
    expect(empty.items[0].ports ?? []).toEqual([]);
    expect(await k(['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=web', '--no-headers'])).toMatch(/web-\S+\s+IPv4\s+<unset>\s+<unset>/);
    await k(['scale', 'deployment', 'web', '-n', ns, '--replicas=2']);
    const back = await waitFor(
      '2 ready pods again',
      async () => {
        const now = await readyPodIPs('app=web');
        return now.length === 2 && now;
      },
      120_000,
      250,
    );
    await waitFor('ep refilled', async () => (await epColumn('web')) === back.map((ip) => `${ip}:8080`).join(','));
    await waitFor('slice refilled', async () => sliceIPs(await getJson('endpointslices', '-l', 'kubernetes.io/service-name=web')).join(',') === back.join(','));
  }, 300_000);

  it('leaves the api-server’s own kubernetes Endpoints and slice alone', async () => {
    // By now every controller has synced default/kubernetes (queued at start, before any Service of ours).
    const ep = JSON.parse(await k(['get', 'ep', 'kubernetes', '-n', 'default', '-o', 'json'])) as { subsets: { addresses: { ip: string }[] }[] };
    expect(ep.subsets[0].addresses.length).toBeGreaterThan(0);
    expect(await k(['get', 'endpointslice', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.endpoints[*].addresses[*]}'])).toBe(
      ep.subsets[0].addresses.map((a) => a.ip).join(' '),
    );
  });

  it('a Service without a selector keeps hand-written Endpoints, mirrored into a slice', async () => {
    await apply(
      ns,
      `apiVersion: v1
kind: Service
metadata: {name: external}
spec:
  ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: external}
subsets:
- addresses: [{ip: 192.0.2.10}, {ip: 192.0.2.11}]
  ports: [{name: http, port: 8080, protocol: TCP}]
`,
    );
    const mirrored = await waitFor('mirrored slice', async () => {
      const j = await getJson('endpointslices', '-l', 'kubernetes.io/service-name=external');
      return j.items.length === 1 && sliceIPs(j).length === 2 && j;
    });
    const s = mirrored.items[0];
    expect(s.metadata.labels?.['endpointslice.kubernetes.io/managed-by']).toBe('endpointslicemirroring-controller.k8s.io');
    expect(sliceIPs(mirrored)).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(s.ports?.map((p) => p.port)).toEqual([8080]);
    expect(await epColumn('external')).toBe('192.0.2.10:8080,192.0.2.11:8080');
    // An edit of the Endpoints reaches the slice.
    await k([
      'patch',
      'endpoints',
      'external',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ subsets: [{ addresses: [{ ip: '192.0.2.12' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }] }),
    ]);
    await waitFor(
      'mirror follows',
      async () => sliceIPs(await getJson('endpointslices', '-l', 'kubernetes.io/service-name=external')).join(',') === '192.0.2.12',
    );
    const out = await k(['describe', 'svc', 'external', '-n', ns]);
    expect(out.split('\n').find((l) => l.startsWith('Endpoints:'))).toContain('192.0.2.12:8080');
  });
});
