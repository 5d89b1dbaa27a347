/**
 * The seeds' Service flows, as a user runs them with the real kubectl, end to end through kube-proxy: an nginx
 * Deployment exposed with `kubectl expose` answers on its ClusterIP and its DNS name; the TLS nginx of "Connecting
 * Applications with Services" (a secret made by openssl, the server block from a ConfigMap) answers `curl -k` from
 * the host on its NodePort; a LoadBalancer with two named ports answers on both through the ClusterIP, the NodePorts
 * and its EXTERNAL-IP; a selectorless Service reaches the Endpoints written by hand (mirrored into a slice); a
 * clusterIP asked for inside the range is given and answers, one outside is refused in Kubernetes' words; a Service
 * goes ExternalName → ClusterIP → NodePort → LoadBalancer → ClusterIP → ExternalName with kubectl apply and patch,
 * its addresses and ports given and taken back, its rules following; externalIPs carry traffic to the backends;
 * internalTrafficPolicy Local answers only where an endpoint is local.
 *
 * The data path is checked in the iptables, nftables and userspace modes (`kemu up --proxy-mode`, as
 * services.test.ts does; ipvs here is the userspace data path again); the API's answers once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import type { Service, ServiceList } from 'kubernetes-types/core/v1.js';
import { ctx, k, kemu, kubectl, namespace, netexecRunArgs, onNode, onNodeAsync, parseJson, stateFile, waitFor } from './helpers.js';

let ns = '';
const tmp = mkdtempSync('/tmp/kemu-seeds-');
const nodeIP = (n: number) => `${ctx().subnet}.1.${n}`;
const WELCOME = '<title>Welcome to nginx!</title>';
const OUTSIDE_IP = '10.0.0.1';
const CUSTOM_IP = '10.111.222.111';

const apply = (yaml: string) => k(['apply', '-n', ns, '-f', '-'], { input: yaml });
const get = (what: string, path: string) => k(['get', ...what.split(' '), '-n', ns, '-o', `jsonpath={${path}}`]);
/** One curl (a new connection each time) from a pod, the host or node-1: what it printed, '' when it failed. */
const fromPod = async (pod: string, url: string, ...flags: string[]) =>
  (await kubectl(['exec', '-n', ns, pod, '--', 'curl', '-s', '--max-time', '3', ...flags, url])).stdout;
const fromHost = (url: string, ...flags: string[]) => execa('curl', ['-s', '--max-time', '3', ...flags, url], { reject: false });
const fromNode = async (url: string) => (await onNodeAsync('node-1', 'curl', '-s', '--max-time', '3', url)).stdout;
/** Poll `fetch` until what it answers contains `text`. */
const answers = (what: string, fetch: () => Promise<string> | string, text: string) => waitFor(what, async () => (await fetch()).includes(text), 30_000, 200);
/** Poll `fetch` (each call a new connection, so any backend) until every backend in `names` has answered. */
async function reachesAll(what: string, names: string[], fetch: () => Promise<string> | string): Promise<void> {
  const seen = new Set<string>();
  await waitFor(
    `${what}: ${names.join(', ')}`,
    async () => {
      seen.add((await fetch()).trim());
      return names.every((n) => seen.has(n));
    },
    30_000,
    50,
  );
}
const pool = () => new RegExp(`^${ctx().subnet.replace('.', '\\.')}\\.255\\.\\d+$`);
/** Where each Service of the suite answers, read once they are all made (a change of proxy mode changes none of it). */
interface Addresses {
  clusterIP: string;
  nodePorts: number[];
  external: string;
}
const services = new Map<string, Addresses>();
const svc = (name: string): Addresses => {
  const a = services.get(name);
  if (!a) throw new Error(`no Service ${name}`);
  return a;
};
const clusterRecord = () => JSON.parse(readFileSync(stateFile('cluster.json'), 'utf8')) as { proxyMode?: string };

// The server block of the tutorial's default.conf, with the certificate a `kubectl create secret tls` secret holds.
const DEFAULT_CONF = `server {
        listen 80 default_server;
        listen [::]:80 default_server ipv6only=on;

        listen 443 ssl;

        root /usr/share/nginx/html;
        index index.html;

        server_name localhost;
        ssl_certificate /etc/nginx/ssl/tls.crt;
        ssl_certificate_key /etc/nginx/ssl/tls.key;

        location / {
                try_files $uri $uri/ =404;
        }
}
`;

// nginx-secure-app.yaml of the tutorial (its Service and Deployment, named nginx-https here beside my-nginx).
const SECURE_APP = `apiVersion: v1
kind: Service
metadata:
  name: nginx-https
  labels:
    run: nginx-https
spec:
  type: NodePort
  ports:
  - port: 8080
    targetPort: 80
    protocol: TCP
    name: http
  - port: 443
    protocol: TCP
    name: https
  selector:
    run: nginx-https
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-https
spec:
  selector:
    matchLabels:
      run: nginx-https
  replicas: 1
  template:
    metadata:
      labels:
        run: nginx-https
    spec:
      volumes:
      - name: secret-volume
        secret:
          secretName: nginxsecret
      - name: configmap-volume
        configMap:
          name: nginxconfigmap
      containers:
      - name: nginxhttps
        image: bprashanth/nginxhttps:1.0
        ports:
        - containerPort: 443
        - containerPort: 80
        volumeMounts:
        - mountPath: /etc/nginx/ssl
          name: secret-volume
        - mountPath: /etc/nginx/conf.d
          name: configmap-volume
`;

// The multi-port example of "Getting Started with Kubernetes" (a Deployment where the book has a controller).
const MULTI_PORT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: node-js-multi
spec:
  replicas: 2
  selector:
    matchLabels: {name: node-js-multi}
  template:
    metadata:
      labels: {name: node-js-multi}
    spec:
      containers:
      - name: node-js-multi
        image: jonbaier/node-express-multi:latest
        ports: [{containerPort: 80}, {containerPort: 8888}]
---
apiVersion: v1
kind: Service
metadata:
  name: node-js-multi
  labels: {name: node-js-multi}
spec:
  type: LoadBalancer
  ports:
  - name: http
    protocol: TCP
    port: 80
  - name: fake-admin-http
    protocol: TCP
    port: 8888
  selector:
    name: node-js-multi
`;

/** A Service without a selector and its Endpoints by hand, as in the Services concept page (netexec on 8080). */
const selectorless = (ips: string[]) => `apiVersion: v1
kind: Service
metadata: {name: my-service}
spec:
  ports: [{name: http, protocol: TCP, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: my-service}
subsets:
- addresses: [${ips.map((ip) => `{ip: ${ip}}`).join(', ')}]
  ports: [{name: http, port: 8080}]
`;

const clusterIPService = (name: string, ip: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  clusterIP: ${ip}
  selector: {run: b2}
  ports: [{port: 80, targetPort: 8080}]
`;

/** b1's netexec, reached on node-2's own address and on another address of the node network, port 8088. */
const withExternalIPs = () => `apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  selector: {run: b1}
  ports: [{name: http, port: 8088, targetPort: 8080}]
  externalIPs: [${nodeIP(2)}, ${ctx().subnet}.200.10]
---
apiVersion: v1
kind: Service
metadata: {name: local}
spec:
  selector: {run: b1}
  internalTrafficPolicy: Local
  ports: [{port: 80, targetPort: 8080}]
`;

beforeAll(async () => {
  ns = await namespace('seeds');
  // The tutorial's key and certificate, its secret and its server block.
  const key = join(tmp, 'nginx.key');
  const crt = join(tmp, 'nginx.crt');
  execFileSync('openssl', ['req', '-x509', '-nodes', '-days', '1', '-newkey', 'rsa:2048', '-keyout', key, '-out', crt, '-subj', '/CN=my-nginx/O=my-nginx'], {
    stdio: 'ignore',
  });
  await k(['create', 'secret', 'tls', 'nginxsecret', '-n', ns, '--key', key, '--cert', crt]);
  await k(['create', 'configmap', 'nginxconfigmap', '-n', ns, '--from-literal', `default.conf=${DEFAULT_CONF}`]);
  // netexec backends b1 (node-1) and b2 (node-2); clients c1 beside b1 and c2 on node-2.
  for (const [name, node] of [
    ['b1', 'node-1'],
    ['b2', 'node-2'],
    ['c1', 'node-1'],
    ['c2', 'node-2'],
  ] as const)
    await k(['-n', ns, ...netexecRunArgs(name, node)]);
  await k(['create', 'deployment', 'my-nginx', '-n', ns, '--image=nginx', '--replicas=2', '--port=80']);
  await apply(SECURE_APP);
  await apply(MULTI_PORT);
  await k(['wait', '-n', ns, '--for=condition=Available', 'deployment', '--all', '--timeout=90s']);
  await k(['wait', '-n', ns, '--for=condition=Ready', 'pod', '--all', '--timeout=90s']);
  const [b1, b2] = [await get('pod b1', '.status.podIP'), await get('pod b2', '.status.podIP')];
  await k(['expose', 'deployment', 'my-nginx', '-n', ns]);
  await apply(selectorless([b1, b2]));
  await apply(clusterIPService('custom', CUSTOM_IP));
  await apply(withExternalIPs());
  await waitFor('the LoadBalancer’s EXTERNAL-IP', async () => pool().test(await get('svc node-js-multi', '.status.loadBalancer.ingress[0].ip')));
  for (const s of parseJson<ServiceList>(await k(['get', 'svc', '-n', ns, '-o', 'json'])).items) {
    services.set(s.metadata?.name ?? '', {
      clusterIP: s.spec?.clusterIP ?? '',
      nodePorts: (s.spec?.ports ?? []).map((p) => p.nodePort ?? 0),
      external: s.status?.loadBalancer?.ingress?.[0]?.ip ?? '',
    });
  }
}, 180_000);

afterAll(async () => {
  // Later suites share the cluster: leave it in the default mode.
  if (clusterRecord().proxyMode !== 'iptables') kemu('up', '--proxy-mode', 'iptables');
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  rmSync(tmp, { recursive: true, force: true });
});

describe("the seeds' Services, as the api-server keeps them", () => {
  it('kubectl expose deployment: a ClusterIP Service with the Deployment’s selector and port, its pods as endpoints', async () => {
    const row = (await k(['get', 'svc', 'my-nginx', '-n', ns, '--no-headers'])).trim().split(/\s+/);
    expect(row.slice(0, 5)).toEqual(['my-nginx', 'ClusterIP', expect.stringMatching(/^10\.(9[6-9]|10[0-9]|11[01])\./), '<none>', '80/TCP']);
    expect(await get('svc my-nginx', '.spec.selector.app')).toBe('my-nginx');
    const pods = (await get('pods -l app=my-nginx', '.items[*].status.podIP')).split(' ').map((ip) => `${ip}:80`);
    await waitFor('both nginx pods in the Endpoints', async () => (await get('endpoints my-nginx', '.subsets[*].addresses[*].ip')).split(' ').length === 2);
    const ep = (await k(['get', 'endpoints', 'my-nginx', '-n', ns, '--no-headers'])).trim().split(/\s+/)[1];
    expect(ep.split(',').sort()).toEqual(pods.sort());
  });

  it('a selectorless Service keeps the Endpoints written by hand, mirrored into an EndpointSlice', async () => {
    const ips = (await get('endpoints my-service', '.subsets[0].addresses[*].ip')).split(' ').sort();
    expect(ips).toHaveLength(2);
    const slice = await waitFor('the mirrored slice', async () => {
      const rows = (await k(['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=my-service', '--no-headers'])).trim().split('\n');
      const cols = rows[0].split(/\s+/);
      return rows.length === 1 && cols[3].split(',').length === 2 && cols;
    });
    expect(slice.slice(0, 3)).toEqual([expect.stringMatching(/^my-service-[a-z0-9]{5}$/), 'IPv4', '8080']);
    expect(slice[3].split(',').sort()).toEqual(ips);
    expect(await get('endpointslices -l kubernetes.io/service-name=my-service', '.items[0].metadata.labels.endpointslice\\.kubernetes\\.io/managed-by')).toBe(
      'endpointslicemirroring-controller.k8s.io',
    );
  });

  it('a clusterIP asked for inside the range is given; outside it, or taken, it is refused in Kubernetes’ words', async () => {
    expect(await get('svc custom', '.spec.clusterIPs[*]')).toBe(CUSTOM_IP);
    const outside = await kubectl(['apply', '-n', ns, '-f', '-'], { input: clusterIPService('outside', OUTSIDE_IP) });
    expect(outside.exitCode).toBe(1);
    expect(outside.stderr.trim()).toBe(
      `The Service "outside" is invalid: spec.clusterIPs: Invalid value: []string{"${OUTSIDE_IP}"}: failed to allocate IP ${OUTSIDE_IP}: the provided IP (${OUTSIDE_IP}) is not in the valid range. The range of valid IPs is 10.96.0.0/12`,
    );
    const taken = await kubectl(['create', 'service', 'clusterip', 'again', '-n', ns, `--clusterip=${CUSTOM_IP}`, '--tcp=80:8080']);
    expect(taken.stderr.trim()).toBe(
      `error: failed to create ClusterIP service: Service "again" is invalid: spec.clusterIPs: Invalid value: []string{"${CUSTOM_IP}"}: failed to allocate IP ${CUSTOM_IP}: provided IP is already allocated`,
    );
    expect((await kubectl(['get', 'svc', 'outside', 'again', '-n', ns])).stderr).toMatch(/"outside" not found[\s\S]*"again" not found/);
  });

  it('the multi-port LoadBalancer gets an EXTERNAL-IP and a node port for each named port', async () => {
    const { clusterIP, nodePorts, external } = svc('node-js-multi');
    expect(external).toMatch(pool());
    const row = (await k(['get', 'svc', 'node-js-multi', '-n', ns, '--no-headers'])).trim().split(/\s+/);
    expect(row.slice(0, 5)).toEqual(['node-js-multi', 'LoadBalancer', clusterIP, external, `80:${nodePorts[0]}/TCP,8888:${nodePorts[1]}/TCP`]);
    expect(nodePorts.every((p) => p >= 30000 && p <= 32767)).toBe(true);
    expect(await get('svc node-js-multi', '.spec.ports[*].name')).toBe('http fake-admin-http');
  });
});

describe.each(['iptables', 'nftables', 'userspace'] as const)("the seeds' Services answer in %s mode", (mode) => {
  beforeAll(() => {
    if (clusterRecord().proxyMode !== mode) kemu('up', '--proxy-mode', mode);
  }, 120_000);

  it('nginx answers on its ClusterIP and on its Service name through the cluster DNS', async () => {
    await answers('the ClusterIP from a pod', () => fromPod('c1', `http://${svc('my-nginx').clusterIP}/`), WELCOME);
    await answers('the short name', () => fromPod('c2', 'http://my-nginx/'), WELCOME);
    await answers('the full name', () => fromPod('c1', `http://my-nginx.${ns}.svc.cluster.local/`), WELCOME);
  });

  it('the TLS nginx answers curl -k from the host on its https NodePort on every node (and on its http one)', async () => {
    const [http, https] = svc('nginx-https').nodePorts;
    for (const n of [1, 2, 3]) {
      await answers(`https on node-${n}`, async () => (await fromHost(`https://${nodeIP(n)}:${https}/`, '-k')).stdout, WELCOME);
      await answers(`http on node-${n}`, async () => (await fromHost(`http://${nodeIP(n)}:${http}/`)).stdout, WELCOME);
    }
    // The certificate is the secret's.
    expect((await fromHost(`https://${nodeIP(1)}:${https}/`, '-kv', '-o', '/dev/null')).stderr).toMatch(/subject: CN\s*=\s*my-nginx/);
  });

  it('the multi-port LoadBalancer answers on both ports: ClusterIP from a pod, NodePorts from the host, EXTERNAL-IP from a node', async () => {
    const { clusterIP, nodePorts, external } = svc('node-js-multi');
    for (const [i, port] of [80, 8888].entries()) {
      const page = `<p>Port: ${port}</p>`;
      await answers(`ClusterIP port ${port}`, () => fromPod('c1', `http://${clusterIP}:${port}/`), page);
      await answers(`NodePort of port ${port}`, async () => (await fromHost(`http://${nodeIP(3)}:${nodePorts[i]}/`)).stdout, page);
      await answers(`EXTERNAL-IP port ${port}`, () => fromNode(`http://${external}:${port}/`), page);
    }
  });

  it('the selectorless Service reaches both Endpoints written by hand', async () => {
    await reachesAll('my-service from c1', ['b1', 'b2'], () => fromPod('c1', `http://${svc('my-service').clusterIP}/hostname`));
  });

  it('the clusterIP asked for answers', async () => {
    await answers('custom from c1', () => fromPod('c1', `http://${CUSTOM_IP}/hostname`), 'b2');
  });

  it('externalIPs: the host reaches the backend through node-2’s address, a node and a pod through another one', async () => {
    await answers('node-2’s address from the host', async () => (await fromHost(`http://${nodeIP(2)}:8088/hostname`)).stdout, 'b1');
    await answers('the other address from node-1', () => fromNode(`http://${ctx().subnet}.200.10:8088/hostname`), 'b1');
    await answers('the other address from c2', () => fromPod('c2', `http://${ctx().subnet}.200.10:8088/hostname`), 'b1');
  });

  it('internalTrafficPolicy Local: a pod beside the endpoint gets an answer, a pod on a node without one none', async () => {
    const local = svc('local').clusterIP;
    await answers('local from c1 (b1 is on its node)', () => fromPod('c1', `http://${local}/hostname`), 'b1');
    // node-2 is programmed (the same backend answers c2 through a Cluster-policy Service), but not for this one.
    await answers('ext from c2', () => fromPod('c2', `http://${svc('ext').clusterIP}:8088/hostname`), 'b1');
    if (mode === 'iptables') {
      const drop = `-A KUBE-SERVICES -d ${local}/32 -p tcp -m comment --comment "${ns}/local has no local endpoints" -m tcp --dport 80 -j DROP`;
      expect(onNode('node-2', 'iptables-save', '-t', 'filter').stdout).toContain(drop);
    }
    const r = await kubectl(['exec', '-n', ns, 'c2', '--', 'curl', '-s', '--max-time', '3', `http://${local}/hostname`]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toBe('');
  });

  it('a Service goes ExternalName → ClusterIP → NodePort → LoadBalancer → ClusterIP → ExternalName, allocating and releasing, its rules following', async () => {
    const name = `chain-${mode}`;
    const manifest = (spec: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n${spec}`;
    const asExternalName = manifest(`  type: ExternalName\n  externalName: my-nginx.${ns}.svc.cluster.local\n`);
    const asClusterIP = manifest('  type: ClusterIP\n  selector: {app: my-nginx}\n  ports: [{name: http, port: 80}]\n');
    /** kubectl apply or patch, printing the Service as the api-server kept it. */
    const change = async (args: string[], input?: string) => parseJson<Service>(await k([...args, '-n', ns, '-o', 'json'], { input }));
    const row = async () => (await k(['get', 'svc', name, '-n', ns, '--no-headers'])).trim().split(/\s+/);
    const cname = async () => (await kubectl(['exec', '-n', ns, 'c1', '--', 'dig', '+short', `${name}.${ns}.svc.cluster.local`])).stdout;

    const ext = await change(['apply', '-f', '-'], asExternalName);
    expect(ext.spec).not.toHaveProperty('clusterIP');
    expect((await row()).slice(1, 5)).toEqual(['ExternalName', '<none>', `my-nginx.${ns}.svc.cluster.local`, '<none>']);
    // A CNAME to the name it points at (and its address, as the cluster DNS resolves the name in the cluster).
    if (mode === 'iptables')
      await waitFor('the CNAME', async () => (await cname()).startsWith(`my-nginx.${ns}.svc.cluster.local.\n${svc('my-nginx').clusterIP}`));

    const cip = (await change(['apply', '-f', '-'], asClusterIP)).spec ?? {};
    const ip = cip.clusterIP ?? '';
    expect(ip).toMatch(/^10\./);
    await answers('the new ClusterIP', () => fromPod('c1', `http://${ip}/`), WELCOME);

    const np = (await change(['patch', 'svc', name, '-p', '{"spec":{"type":"NodePort"}}'])).spec ?? {};
    const nodePort = np.ports?.[0].nodePort ?? 0;
    expect([np.clusterIP, nodePort >= 30000]).toEqual([ip, true]);
    await answers('the NodePort from the host', async () => (await fromHost(`http://${nodeIP(3)}:${nodePort}/`)).stdout, WELCOME);

    await k(['patch', 'svc', name, '-n', ns, '-p', '{"spec":{"type":"LoadBalancer"}}']);
    const lb = await waitFor('an EXTERNAL-IP', async () => {
      const r = await row();
      return pool().test(r[3]) && r;
    });
    expect(lb.slice(1, 5)).toEqual(['LoadBalancer', ip, lb[3], `80:${nodePort}/TCP`]);
    await answers('the EXTERNAL-IP from node-1', () => fromNode(`http://${lb[3]}/`), WELCOME);

    // Back to the ClusterIP manifest: kubectl apply's patch names only the type; the node port and EXTERNAL-IP go, the address stays.
    const back = await change(['apply', '-f', '-'], asClusterIP);
    expect([back.spec?.clusterIP, back.spec?.ports?.[0].nodePort, back.status]).toEqual([ip, undefined, { loadBalancer: {} }]);
    await waitFor('the NodePort refused from the host', async () => (await fromHost(`http://${nodeIP(3)}:${nodePort}/`)).exitCode === 7);
    await answers('the same ClusterIP', () => fromPod('c1', `http://${ip}/`), WELCOME);

    const gone = await change(['apply', '-f', '-'], asExternalName);
    expect(gone.spec).not.toHaveProperty('clusterIP');
    expect(gone.spec).not.toHaveProperty('internalTrafficPolicy');
    // kube-proxy programs nothing for an ExternalName Service.
    await waitFor(
      'no rule left for it',
      async () => !(await onNodeAsync('node-1', 'sh', '-c', 'iptables-save; nft list ruleset')).stdout.includes(`${ns}/${name}`),
    );
  }, 120_000);
});
