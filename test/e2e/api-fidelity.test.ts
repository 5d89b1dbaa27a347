/**
 * The api-server's answers look like Kubernetes' in the details clients
 * read: a kind with a status shows `status` from its creation on, and
 * boolean query parameters are read the way Kubernetes reads them, and
 * a watch-list (sendInitialEvents) ends its state with a bookmark; the
 * `kubernetes` Service's endpoints are the api-server, kept so by the
 * api-server; /metrics is Prometheus' text format.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '@kemu/api';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { api, creds, k, kubectl, namespace, parseJson, waitFor } from './helpers.js';

let ns: string;

beforeAll(async () => {
  ns = await namespace('fidelity');
});

describe('status of a new object', () => {
  it('is {} for a Deployment kubectl creates (server-side dry run), absent for a ConfigMap', async () => {
    const d = parseJson<Deployment>(await k(['create', 'deployment', 'x', '--image=nginx', '--dry-run=server', '-o', 'json', '-n', ns]));
    expect(d.status).toEqual({});
    await k(['create', 'configmap', 'plain', '--from-literal=a=b', '-n', ns]);
    const cm = parseJson(await k(['get', 'configmap', 'plain', '-o', 'json', '-n', ns]));
    expect(cm).not.toHaveProperty('status');
  });

  it('is in what create answers and what get reads back', async () => {
    const body = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: {} };
    const created = await api('POST', `/api/v1/namespaces/${ns}/resourcequotas`, body);
    expect(created.status).toBe(201);
    expect(created.body).toHaveProperty('status');
    expect(JSON.parse(await k(['get', 'resourcequota', 'q', '-o', 'json', '-n', ns]))).toHaveProperty('status');
  });
});

describe("what create keeps, as each kind's strategy", () => {
  const deployment = (name: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  });

  it('drops a status sent with a Deployment and starts a Pod Pending; generation 1 for the Deployment only', async () => {
    const d = await api<Deployment>('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      ...deployment('forged'),
      status: { replicas: 5, readyReplicas: 5 },
    });
    expect(d.status).toBe(201);
    expect(d.body.status).toEqual({});
    expect(d.body.metadata?.generation).toBe(1);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'forged' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
      status: { phase: 'Running', podIP: '10.9.9.9' },
    };
    const p = await api<Pod>('POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, pod);
    expect(p.status).toBe(201);
    expect(p.body.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(p.body.metadata).not.toHaveProperty('generation');
    const svc = parseJson<Service>(await k(['create', 'service', 'clusterip', 'forged', '--tcp=80', '--dry-run=server', '-o', 'json', '-n', ns]));
    expect(svc.metadata).not.toHaveProperty('generation');
  });

  it("bumps a Deployment's generation when its annotations change, and the controller observes it", async () => {
    await api('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment('annotated'));
    const observed = async (gen: number) => {
      const cur = parseJson<Deployment>(await k(['get', 'deploy', 'annotated', '-o', 'json', '-n', ns]));
      return cur.metadata?.generation === gen && cur.status?.observedGeneration === gen ? cur : undefined;
    };
    // The controller's revision annotation goes with its status: no new generation for it.
    const first = await waitFor('the controller to observe generation 1', () => observed(1));
    expect(first.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    await k(['annotate', 'deploy', 'annotated', 'note=x', '-n', ns]);
    await waitFor('the controller to observe generation 2', () => observed(2));
  });
});

describe('boolean query parameters', () => {
  it('watches for ?watch=True (the Python client) and lists for ?watch=0', async () => {
    await k(['create', 'configmap', 'w', '-n', ns]);
    const sel = 'fieldSelector=metadata.name%3Dw';
    const watched = await api('GET', `/api/v1/namespaces/${ns}/configmaps?watch=True&timeoutSeconds=1&${sel}`);
    expect(watched.status).toBe(200);
    expect(JSON.parse(watched.text.split('\n')[0])).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w' } } });
    const listed = await api('GET', `/api/v1/namespaces/${ns}/configmaps?watch=0&${sel}`);
    expect(listed.body).toMatchObject({ kind: 'ConfigMapList', items: [{ metadata: { name: 'w' } }] });
  });

  it('sends the state, then the bookmark that ends it, for sendInitialEvents=true (watch-list)', async () => {
    await k(['create', 'configmap', 'wl', '-n', ns]);
    const q = 'watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dwl';
    const r = await api('GET', `/api/v1/namespaces/${ns}/configmaps?${q}`);
    const events = r.text
      .trim()
      .split('\n')
      .map((l) => parseJson(l));
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'wl' } } });
    expect(events[1]).toMatchObject({
      type: 'BOOKMARK',
      object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } },
    });
    const refused = await api<Status>('GET', `/api/v1/namespaces/${ns}/configmaps?watch=1&sendInitialEvents=true`);
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain('sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
  });
});

describe('a Service changing type', () => {
  /** The fields these tests read, present on every Service they get (a missing one fails the comparison that reads it). */
  interface SvcView {
    spec: Record<string, unknown> & { clusterIP: string; ipFamilies?: string[]; healthCheckNodePort: number; ports: { nodePort: number }[] };
    status?: Record<string, unknown>;
  }
  const svc = async (name: string) => parseJson<SvcView>(await k(['get', 'svc', name, '-o', 'json', '-n', ns]));
  const patch = (name: string, p: object) => k(['patch', 'svc', name, '--type=merge', '-p', JSON.stringify(p), '-n', ns]);
  /** Whether the api-server still holds `nodePort` / `clusterIP`: a server-side dry run that asks for it says. */
  const portTaken = async (nodePort: number) =>
    (
      await api('POST', `/api/v1/namespaces/${ns}/services?dryRun=All`, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'probe' },
        spec: { type: 'NodePort', ports: [{ port: 1, nodePort }] },
      })
    ).status === 422;
  const ipTaken = async (clusterIP: string) =>
    (
      await api('POST', `/api/v1/namespaces/${ns}/services?dryRun=All`, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'probe' },
        spec: { clusterIP, ports: [{ port: 1 }] },
      })
    ).status === 422;

  it('from LoadBalancer and from NodePort to ClusterIP with a plain patch of the type, giving back the node ports', async () => {
    for (const type of ['LoadBalancer', 'NodePort']) {
      const name = `to-cip-${type.toLowerCase()}`;
      await k(['create', 'service', type.toLowerCase(), name, '--tcp=80:8080', '-n', ns]);
      const before = await svc(name);
      const nodePort: number = before.spec.ports[0].nodePort;
      expect(await portTaken(nodePort)).toBe(true);
      await k(['patch', 'svc', name, '-p', '{"spec":{"type":"ClusterIP"}}', '-n', ns]);
      const after = await svc(name);
      expect(after.spec).toMatchObject({ type: 'ClusterIP', clusterIP: before.spec.clusterIP });
      for (const f of ['externalTrafficPolicy', 'allocateLoadBalancerNodePorts', 'healthCheckNodePort']) expect(after.spec).not.toHaveProperty(f);
      expect(after.spec.ports[0]).not.toHaveProperty('nodePort');
      expect(after.status).toEqual({ loadBalancer: {} });
      expect(await portTaken(nodePort)).toBe(false);
    }
  });

  it('ExternalName → ClusterIP → NodePort → LoadBalancer → ExternalName allocates and releases as it goes', async () => {
    await k(['create', 'service', 'externalname', 'chain', '--external-name=example.com', '-n', ns]);
    expect((await svc('chain')).spec).not.toHaveProperty('clusterIP');
    await patch('chain', { spec: { type: 'ClusterIP', ports: [{ port: 80 }] } });
    const cip = await svc('chain');
    expect(cip.spec.clusterIP).toMatch(/^10\./);
    expect(cip.spec.ipFamilies).toEqual(['IPv4']);
    await patch('chain', { spec: { type: 'NodePort' } });
    const np = await svc('chain');
    expect(np.spec).toMatchObject({ clusterIP: cip.spec.clusterIP, externalTrafficPolicy: 'Cluster' });
    const nodePort: number = np.spec.ports[0].nodePort;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    await patch('chain', { spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } });
    const lb = await svc('chain');
    expect(lb.spec).toMatchObject({ clusterIP: cip.spec.clusterIP, allocateLoadBalancerNodePorts: true, ports: [{ nodePort }] });
    const hc: number = lb.spec.healthCheckNodePort;
    expect(await portTaken(hc)).toBe(true);
    await patch('chain', { spec: { type: 'ExternalName' } });
    const ext = await svc('chain');
    for (const f of [
      'clusterIP',
      'clusterIPs',
      'ipFamilies',
      'ipFamilyPolicy',
      'externalTrafficPolicy',
      'healthCheckNodePort',
      'allocateLoadBalancerNodePorts',
    ])
      expect(ext.spec).not.toHaveProperty(f);
    expect(ext.spec.ports[0]).not.toHaveProperty('nodePort');
    expect([await ipTaken(cip.spec.clusterIP), await portTaken(nodePort), await portTaken(hc)]).toEqual([false, false, false]);
  });

  it('still refuses a node port asked for together with ClusterIP', async () => {
    await k(['create', 'service', 'nodeport', 'keep', '--tcp=80:8080', '-n', ns]);
    const r = await kubectl(['patch', 'svc', 'keep', '--type=merge', '-p', '{"spec":{"type":"ClusterIP","ports":[{"port":80,"nodePort":32100}]}}', '-n', ns]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("may not be used when `type` is 'ClusterIP'");
  });
});

describe('the kubernetes Service', () => {
  const inDefault = ['-n', 'default'];
  it("has the api-server's address as its endpoints, in an Endpoints and an EndpointSlice", async () => {
    const addr = creds().server.hostname;
    expect(await k(['get', 'ep', 'kubernetes', ...inDefault])).toMatch(new RegExp(`^kubernetes\\s+${addr.replaceAll('.', '\\.')}:6443\\s`, 'm'));
    expect(await k(['get', 'endpointslice', 'kubernetes', ...inDefault])).toMatch(
      new RegExp(`^kubernetes\\s+IPv4\\s+6443\\s+${addr.replaceAll('.', '\\.')}\\s`, 'm'),
    );
    const slice = parseJson<EndpointSlice>(await k(['get', 'endpointslice', 'kubernetes', '-o', 'json', ...inDefault]));
    expect(slice.metadata?.labels).toEqual({ 'kubernetes.io/service-name': 'kubernetes' });
    expect(slice.endpoints).toEqual([{ addresses: [addr], conditions: { ready: true } }]);
    const ep = parseJson<Endpoints>(await k(['get', 'ep', 'kubernetes', '-o', 'json', ...inDefault]));
    expect(ep.metadata?.labels).toEqual({ 'endpointslice.kubernetes.io/skip-mirror': 'true' });
    expect(ep.subsets).toEqual([{ addresses: [{ ip: addr }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }]);
  });

  it('gets its endpoints back when someone changes them', async () => {
    const addr = creds().server.hostname;
    const wrong = [{ addresses: [{ ip: '10.1.2.3' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }];
    const patched = [
      await k([
        'patch',
        'ep',
        'kubernetes',
        '--type=merge',
        '-p',
        JSON.stringify({ subsets: wrong }),
        '-o',
        'jsonpath={.subsets[0].addresses[*].ip}',
        ...inDefault,
      ]),
      await k([
        'patch',
        'endpointslice',
        'kubernetes',
        '--type=merge',
        '-p',
        JSON.stringify({ endpoints: [{ addresses: ['10.1.2.3'] }] }),
        '-o',
        'jsonpath={.endpoints[*].addresses[*]}',
        ...inDefault,
      ]),
    ];
    expect(patched).toEqual(['10.1.2.3', '10.1.2.3']);
    const ips = async () =>
      k(['get', 'ep,endpointslice', 'kubernetes', '-o', 'jsonpath={.items[0].subsets[0].addresses[*].ip} {.items[1].endpoints[*].addresses[*]}', ...inDefault]);
    // Kubernetes reconciles every 10 s.
    await waitFor('the api-server to put its address back', async () => (await ips()) === `${addr} ${addr}`, 30_000, 500);
  });
});

describe('/metrics', () => {
  it('counts requests by verb, resource and code, in Prometheus text format', async () => {
    await k(['get', 'configmaps', '-n', ns]);
    const r = await api('GET', '/metrics', undefined, { headers: { Accept: 'text/plain' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.text).toMatch(/^apiserver_request_total\{verb="LIST",resource="configmaps",code="200"\} \d+$/m);
    expect(r.text).toMatch(/^apiserver_storage_objects\{resource="namespaces"\} \d+$/m);
    expect(r.text).toMatch(/^process_cpu_seconds_total /m);
  });
});
