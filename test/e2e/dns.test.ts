/**
 * The cluster DNS server (services/dns) against a real cluster: run on the
 * host, on loopback, fed by informers over gRPC (a component token) and over
 * REST (a service account token, as in a pod), asked through Node's resolver.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type RunningDns } from '@kemu/dns';
import { loopbackListeners } from '../../services/dns/src/testing/loopback.js';
import { api, apply, ctx, k, kubectl, namespace, stateFile, waitFor } from './helpers.js';

let ns: string;
let dir: string;
let grpcDns: RunningDns;
let restDns: RunningDns;

/** A resolver of its own for every question: c-ares would otherwise cache a negative answer for the SOA's TTL. */
function resolver(port: number): Resolver {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}
const a = (port: number, name: string) => resolver(port).resolve4(name);
const notFound = async (p: Promise<unknown>) => {
  try {
    await p;
    return false;
  } catch (e) {
    return (e as { code?: string }).code === 'ENOTFOUND';
  }
};

/** On loopback, forwarding nowhere: names outside the cluster are not this suite's to ask. */
const base = () => ({ ...loopbackListeners(), upstreams: [] as string[], resolvConf: '' });

beforeAll(async () => {
  ns = await namespace('dns');
  dir = mkdtempSync(join(tmpdir(), 'kemu-dns-'));
  const tokens = JSON.parse(readFileSync(stateFile('pki', 'tokens.json'), 'utf8')) as Record<string, string>;
  writeFileSync(join(dir, 'component.token'), tokens['kube-controller-manager']);
  grpcDns = await start({ ...base(), apiserver: `${ctx().subnet}.0.3:6444`, caFile: stateFile('pki', 'ca.crt'), tokenFile: join(dir, 'component.token') });
  // What a pod has: a service account token and the cluster CA, and the api-server's REST port.
  // (Through the API as JSON, as a client library asks; kubectl create token sends the same as protobuf.)
  const token = await waitFor('a service account token', async () => {
    const r = await api('POST', `/api/v1/namespaces/${ns}/serviceaccounts/default/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {},
    });
    return r.status === 201 ? (r.body as { status: { token: string } }).status.token : undefined;
  });
  writeFileSync(join(dir, 'sa.token'), token);
  // What the DNS add-on's service account is granted (compose/addons/dns.yaml's system:coredns), for this one.
  await apply(ns, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: `${ns}-dns` },
    rules: [
      { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ],
  });
  await k(['create', 'clusterrolebinding', `${ns}-dns`, `--clusterrole=${ns}-dns`, `--serviceaccount=${ns}:default`]);
  restDns = await start({
    ...base(),
    rest: { server: `https://${ctx().subnet}.0.3:6443`, ca: readFileSync(stateFile('pki', 'ca.crt')), tokenFile: join(dir, 'sa.token') },
  });
  await Promise.all([grpcDns.synced, restDns.synced]);
});

afterAll(async () => {
  await grpcDns?.stop();
  await restDns?.stop();
  if (ns) await kubectl(['delete', 'clusterrolebinding,clusterrole', `${ns}-dns`, '--ignore-not-found']);
  if (ns) await k(['delete', 'namespace', ns, '--wait=false']);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('cluster DNS against a real cluster', () => {
  it('is ready once its informers listed; answers the kubernetes Service and its PTR', async () => {
    for (const dns of [grpcDns, restDns]) {
      expect((await fetch(`http://127.0.0.1:${dns.readyPort}/ready`)).status).toBe(200);
      expect(await a(dns.port, 'kubernetes.default.svc.cluster.local')).toEqual(['10.96.0.1']);
      expect(await resolver(dns.port).reverse('10.96.0.1')).toEqual(['kubernetes.default.svc.cluster.local']);
    }
  });

  it('a new Service answers (A and SRV for its named port) through both kinds of watch', async () => {
    await k(['create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', ns]);
    const ip = (await k(['get', 'service', 'web', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    for (const dns of [grpcDns, restDns]) {
      expect(await waitFor('web answers', async () => (await a(dns.port, `web.${ns}.svc.cluster.local`).catch(() => []))[0])).toBe(ip);
      expect(await resolver(dns.port).resolveSrv(`_80-8080._tcp.web.${ns}.svc.cluster.local`)).toEqual([
        { name: `web.${ns}.svc.cluster.local`, port: 80, priority: 0, weight: 100 },
      ]);
    }
    await k(['delete', 'service', 'web', '-n', ns]);
    expect(await waitFor('web gone', () => notFound(a(grpcDns.port, `web.${ns}.svc.cluster.local`)))).toBe(true);
  });

  it('headless: an A record per ready endpoint, hostnames, not-ready endpoints left out', async () => {
    await k(['create', 'service', 'clusterip', 'db', '--clusterip=None', '-n', ns]);
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'db-1', namespace: ns, labels: { 'kubernetes.io/service-name': 'db' } },
      addressType: 'IPv4',
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.50.1'], hostname: 'db-0', conditions: { ready: true } },
        { addresses: ['10.244.50.2'], hostname: 'db-1', conditions: { ready: false } },
      ],
    };
    await k(['apply', '-f', '-'], { input: JSON.stringify(slice) });
    const port = grpcDns.port;
    expect(await waitFor('db answers', async () => await a(port, `db.${ns}.svc.cluster.local`).catch(() => undefined))).toEqual(['10.244.50.1']);
    expect(await a(port, `db-0.db.${ns}.svc.cluster.local`)).toEqual(['10.244.50.1']);
    expect(await notFound(a(port, `db-1.db.${ns}.svc.cluster.local`))).toBe(true);
    expect(await resolver(port).resolveSrv(`_pg._tcp.db.${ns}.svc.cluster.local`)).toEqual([
      { name: `db-0.db.${ns}.svc.cluster.local`, port: 5432, priority: 0, weight: 100 },
    ]);
    expect(await resolver(port).reverse('10.244.50.1')).toEqual([`db-0.db.${ns}.svc.cluster.local`]);
    await k(['delete', 'endpointslice', 'db-1', '-n', ns]);
    expect(await waitFor('db without endpoints is NXDOMAIN', () => notFound(a(port, `db.${ns}.svc.cluster.local`)))).toBe(true);
  });

  it('ExternalName: a CNAME', async () => {
    await k(['create', 'service', 'externalname', 'ext', '--external-name=example.com', '-n', ns]);
    expect(
      await waitFor('ext answers', () =>
        resolver(grpcDns.port)
          .resolveCname(`ext.${ns}.svc.cluster.local`)
          .catch(() => undefined),
      ),
    ).toEqual(['example.com']);
  });

  it('a running pod: a-b-c-d.<ns>.pod.cluster.local', async () => {
    await k(['run', 'p', '--image=registry.k8s.io/pause:3.9', '-n', ns]);
    const ip = await waitFor('pod IP', async () => (await k(['get', 'pod', 'p', '-n', ns, '-o', 'jsonpath={.status.podIP}'])).trim(), 60_000, 250);
    expect(await waitFor('pod answers', () => a(grpcDns.port, `${ip.replaceAll('.', '-')}.${ns}.pod.cluster.local`).catch(() => undefined))).toEqual([ip]);
    expect(await notFound(a(grpcDns.port, `${ip.replaceAll('.', '-')}.default.pod.cluster.local`))).toBe(true);
  }, 90_000);

  it('names outside the cluster, with no upstream: SERVFAIL at once', async () => {
    await expect(a(grpcDns.port, 'example.org')).rejects.toMatchObject({ code: 'ESERVFAIL' });
  });

  it('counts queries as CoreDNS does', async () => {
    const text = await (await fetch(`http://127.0.0.1:${grpcDns.metricsPort}/metrics`)).text();
    expect(text).toMatch(/coredns_dns_requests_total\{[^}]*zone="cluster.local."[^}]*type="A"\} [1-9]/);
    expect(text).toMatch(/coredns_dns_responses_total\{[^}]*rcode="SERVFAIL"[^}]*\} [1-9]/);
  });
});
