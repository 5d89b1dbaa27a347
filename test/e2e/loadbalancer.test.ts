/**
 * LoadBalancer Services without a cloud, with the real kubectl: the
 * controller-manager gives each an EXTERNAL-IP from the default pool (the
 * top /24 of the node network, `<subnet>.255.1`–`.254`), honours a requested
 * address, says why it cannot meet one, and takes the address back when the
 * Service stops being a LoadBalancer. One node answers ARP for each address
 * (the speaker in its kube-proxy), so the host reaches EXTERNAL-IP:port; when
 * that node dies another takes the address over; externalTrafficPolicy Local
 * keeps the client's address and answers on the health check NodePort.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, ctx, k, kemu, kubectl, namespace, netexecRunArgs, waitFor } from './helpers.js';
import { fromHost, holder } from './lb.js';

let ns: string;
beforeAll(async () => {
  ns = await namespace('lb');
});
afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

/** The EXTERNAL-IP column of `kubectl get svc`. */
const externalIP = async (name: string): Promise<string> => (await k(['get', 'svc', name, '-n', ns, '--no-headers'])).trim().split(/\s+/)[3];
const pool = () => new RegExp(`^${ctx().subnet.replace('.', '\\.')}\\.255\\.([1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])$`);

describe('LoadBalancer Services', () => {
  it('kubectl create service loadbalancer gets an EXTERNAL-IP from the top of the node network, with an IPAllocated event', async () => {
    await k(['create', 'service', 'loadbalancer', 'web', '--tcp=80:80', '-n', ns]);
    const ip = await waitFor('an EXTERNAL-IP', async () => {
      const v = await externalIP('web');
      return v !== '<pending>' && v;
    });
    expect(ip).toMatch(pool());
    const ingress = JSON.parse(await k(['get', 'svc', 'web', '-n', ns, '-o', 'jsonpath={.status.loadBalancer.ingress}'])) as unknown;
    expect(ingress).toEqual([{ ip, ipMode: 'VIP' }]);
    await waitFor('IPAllocated event', async () => (await k(['describe', 'svc', 'web', '-n', ns])).includes(`Assigned IP ["${ip}"]`));
  });

  it('spec.loadBalancerIP is honoured in the pool; outside it the Service stays <pending> with AllocationFailed', async () => {
    const wanted = `${ctx().subnet}.255.200`;
    const manifest = (name: string, ip: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {type: LoadBalancer, loadBalancerIP: "${ip}", ports: [{port: 80}], selector: {app: ${name}}}
`;
    await k(['apply', '-n', ns, '-f', '-'], { input: manifest('asked', wanted) + '---\n' + manifest('outside', '192.0.2.10') });
    await waitFor('the requested address', async () => (await externalIP('asked')) === wanted);
    await waitFor('AllocationFailed', async () =>
      (await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=outside', '-o', 'jsonpath={.items[*].message}'])).includes(
        'Failed to allocate IP for "' + ns + '/outside": "192.0.2.10" is not allowed in config',
      ),
    );
    expect(await externalIP('outside')).toBe('<pending>');
  });

  it('a Service changed to ClusterIP loses its EXTERNAL-IP', async () => {
    await k(['create', 'service', 'loadbalancer', 'flip', '--tcp=81:81', '-n', ns]);
    await waitFor('an EXTERNAL-IP', async () => pool().test(await externalIP('flip')));
    // The fields only a LoadBalancer may have go with the type (Kubernetes' api-server drops them itself when unchanged).
    const patch = [
      { op: 'replace', path: '/spec/type', value: 'ClusterIP' },
      { op: 'remove', path: '/spec/ports/0/nodePort' },
      { op: 'remove', path: '/spec/externalTrafficPolicy' },
    ];
    await k(['patch', 'svc', 'flip', '-n', ns, '--type=json', '-p', JSON.stringify(patch)]);
    await waitFor('no EXTERNAL-IP', async () => (await externalIP('flip')) === '<none>');
    expect(await k(['get', 'svc', 'flip', '-n', ns, '-o', 'jsonpath={.status.loadBalancer}'])).toBe('{}');
  });
});

const nodeMac = (node: string) =>
  /link\/ether (\S+)/.exec(spawnSync('ip', ['-n', `${ctx().project}-${node}`, 'link', 'show', 'eth0'], { encoding: 'utf8' }).stdout)?.[1];
const hostNeighbour = (ip: string) => /lladdr (\S+)/.exec(spawnSync('ip', ['neigh', 'show', 'to', ip], { encoding: 'utf8' }).stdout)?.[1];
const nodeReady = async (node: string) => (await k(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True';

describe('LoadBalancer traffic (layer 2)', () => {
  const backends = [
    ['lb-a', 'node-1'],
    ['lb-b', 'node-2'],
  ] as const;
  const service = (name: string, selector: string, policy: 'Cluster' | 'Local') => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {type: LoadBalancer, externalTrafficPolicy: ${policy}, ports: [{port: 80, targetPort: 8080}], selector: {${selector}}}
`;
  const ipOf = (name: string) => waitFor(`${name}'s EXTERNAL-IP`, async () => pool().test(await externalIP(name)) && externalIP(name));

  beforeAll(async () => {
    for (const [name, node] of backends) await k(['-n', ns, ...netexecRunArgs(name, node), '--labels', `app=lb-web,run=${name}`]);
    await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/lb-a', 'pod/lb-b', '--timeout=60s']);
    await k(['apply', '-n', ns, '-f', '-'], { input: service('lb-web', 'app: lb-web', 'Cluster') + '---\n' + service('lb-local', 'run: lb-b', 'Local') });
  });

  it('the host reaches EXTERNAL-IP:port through the one node that answers ARP for it, named by kemu status and a nodeAssigned event', async () => {
    const ip = await ipOf('lb-web');
    const seen = new Set<string>();
    await waitFor('both backends through the EXTERNAL-IP', () => {
      const r = fromHost(`http://${ip}/hostname`);
      if (r.code === 200) seen.add(r.body);
      return seen.size === 2;
    });
    expect([...seen].sort()).toEqual(['lb-a', 'lb-b']);
    const node = await holder(ip);
    // The host's ARP entry for the address is that node's interface.
    expect(hostNeighbour(ip)).toBe(nodeMac(node));
    await waitFor('the nodeAssigned event', async () =>
      (await k(['describe', 'svc', 'lb-web', '-n', ns])).includes(`announcing from node "${node}" with protocol "layer2"`),
    );
  });

  it("externalTrafficPolicy Local: the address lands on the node with the pod, the pod sees the host's address, the health check NodePort says 200 there and 503 elsewhere", async () => {
    const ip = await ipOf('lb-local');
    expect(await holder(ip)).toBe('node-2');
    const host = `${ctx().subnet}.0.1`;
    const clientIP = await waitFor('an answer on the EXTERNAL-IP', () => {
      const r = fromHost(`http://${ip}/clientip`);
      return r.code === 200 && r.body;
    });
    expect(clientIP.split(':')[0]).toBe(host);
    const nodePort = await k(['get', 'svc', 'lb-local', '-n', ns, '-o', 'jsonpath={.spec.ports[0].nodePort}']);
    expect(fromHost(`http://${ctx().subnet}.1.2:${nodePort}/clientip`).body.split(':')[0]).toBe(host);

    const hc = Number(await k(['get', 'svc', 'lb-local', '-n', ns, '-o', 'jsonpath={.spec.healthCheckNodePort}']));
    expect(hc).toBeGreaterThan(0);
    const check = (n: number) => fromHost(`http://${ctx().subnet}.1.${n}:${hc}/`);
    const there = await waitFor('200 on node-2', () => check(2).code === 200 && check(2));
    expect(JSON.parse(there.body)).toEqual({ service: { namespace: ns, name: 'lb-local' }, localEndpoints: 1, serviceProxyHealthy: true });
    for (const n of [1, 3]) {
      const r = check(n);
      expect(r.code).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ localEndpoints: 0 });
    }
  });

  it('when the node answering for an address dies, another node takes it over and the host reaches the Service again', async () => {
    const ip = await ipOf('lb-web');
    const dead = await holder(ip);
    const started = Date.now();
    // As the README's example: the node's kubelet dies; node lifecycle marks the Node NotReady after its grace.
    cluster().killService(dead); // as `docker kill`: not restarted until `kemu start`
    try {
      const next = await holder(ip, dead, 150_000);
      await waitFor('the EXTERNAL-IP answering through the new node', () => fromHost(`http://${ip}/hostname`).code === 200, 30_000);
      expect(hostNeighbour(ip)).toBe(nodeMac(next));
      console.log(`LoadBalancer ${ip}: ${dead} killed, ${next} answering after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      kemu('start');
      await waitFor(`${dead} Ready again`, () => nodeReady(dead), 60_000);
    }
  }, 240_000);

  it('kemu up --lb-range on a running cluster moves the pool: the addresses are assigned again from the new one and answered there', async () => {
    await ipOf('lb-web');
    const range = `${ctx().subnet}.200.16/28`;
    const inRange = (v: string) => v.startsWith(`${ctx().subnet}.200.`) && Number(v.split('.')[3]) >= 16 && Number(v.split('.')[3]) <= 31;
    try {
      expect(kemu('up', '--lb-range', range)).toContain(`controller-manager: LoadBalancer pool default -> ${range}`);
      const moved = await waitFor('an address from the new pool', async () => inRange(await externalIP('lb-web')) && externalIP('lb-web'), 60_000);
      await waitFor('the host reaching the new address', () => fromHost(`http://${moved}/hostname`).code === 200);
    } finally {
      kemu('up', '--lb-range', '');
    }
    await waitFor('an address from the default pool again', async () => pool().test(await externalIP('lb-web')), 60_000);
  }, 180_000);
});
