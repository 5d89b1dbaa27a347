import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkAddresses, expandReplicas, interpolate, parseCompose, readDocument, startOrder } from './compose.js';
import { clusterNetwork } from './cluster.js';

describe('compose interpolation', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A-d}', { A: '' }, ''],
    ['$A/b', { A: 'x' }, 'x/b'],
    ['$$A', { A: 'x' }, '$A'],
  ])('%s', (text, env, want) => expect(interpolate(text, env)).toBe(want));
});

describe('the repository compose file', () => {
  const text = readFileSync(new URL('../../../compose/docker-compose.yml', import.meta.url), 'utf8');
  /** A compose/ env file's variables (KEY=value lines). */
  const envFile = (name: string): [string, string][] =>
    readFileSync(new URL(`../../../compose/${name}`, import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
  it('gives every service a fixed address on the cluster network', () => {
    const p = parseCompose(text, { KEMU_SUBNET: '172.30', KEMU_STATE: '/s', KEMU_ROOT: '/r' });
    expect(p.subnet).toBe('172.30.0.0/16');
    expect(p.gateway).toBe('172.30.0.1');
    const api = p.services.find((s) => s.name === 'apiserver')!;
    expect(api.address).toBe('172.30.0.3');
    expect(api.command).toContain('--etcd-servers=https://172.30.0.2:2379');
    expect(api.command[1]).toBe('/r/services/apiserver/dist/bundle.mjs');
    expect(api.healthcheck?.[0]).toBe('curl');
  });
  it('expands the nodes: node-1..N at a.b.1.i with their names, addresses and namespaces; none for --nodes 0', () => {
    const p = parseCompose(text, { KEMU_SUBNET: '172.30', KEMU_NODES: '2', KEMU_PROJECT: 'x', KEMU_BACKEND: 'vxlan' });
    const nodes = p.services.filter((s) => s.name.startsWith('node-') && s.process === 'kubelet');
    expect(nodes.map((n) => [n.name, n.address, n.environment?.NODE_NETNS])).toEqual([
      ['node-1', '172.30.1.1', 'x-node-1'],
      ['node-2', '172.30.1.2', 'x-node-2'],
    ]);
    expect(nodes[0].command).toContain('--network-backend=vxlan');
    expect(parseCompose(text, { KEMU_NODES: '0' }).services.some((s) => s.name.startsWith('node'))).toBe(false);
  });
  it('locks etcd down as kubeadm does: TLS and client certificates on both ports, the api-server with its own', () => {
    const env = { KEMU_SUBNET: '172.30', KEMU_STATE: '/s', KEMU_ROOT: '/r' };
    const p = parseCompose(text, env);
    const flags = (name: string) => p.services.find((s) => s.name === name)?.command ?? [];
    expect(flags('etcd')).toEqual(
      expect.arrayContaining([
        '--listen-client-urls=https://0.0.0.0:2379',
        '--advertise-client-urls=https://172.30.0.2:2379',
        '--client-cert-auth=true',
        '--trusted-ca-file=/s/pki/etcd/ca.crt',
        '--cert-file=/s/pki/etcd/etcd-server.crt',
        '--key-file=/s/pki/etcd/etcd-server.key',
        '--peer-client-cert-auth=true',
        '--peer-trusted-ca-file=/s/pki/etcd/ca.crt',
        '--peer-cert-file=/s/pki/etcd/etcd-peer.crt',
        '--peer-key-file=/s/pki/etcd/etcd-peer.key',
        '--listen-peer-urls=https://127.0.0.1:2380',
      ]),
    );
    // Nothing listens in plaintext but the metrics port (/health, /metrics; no keys).
    expect(flags('etcd').filter((f) => f.includes('http://'))).toEqual(['--listen-metrics-urls=http://127.0.0.1:2381,http://172.30.0.2:2381']);
    expect(p.services.find((s) => s.name === 'etcd')?.healthcheck).toEqual(['curl', '-sf', 'http://127.0.0.1:2381/health']);
    expect(flags('apiserver')).toEqual(
      expect.arrayContaining([
        '--etcd-cafile=/s/pki/etcd/ca.crt',
        '--etcd-certfile=/s/pki/apiserver-etcd-client.crt',
        '--etcd-keyfile=/s/pki/apiserver-etcd-client.key',
        '--encryption-provider-config=/s/encryption-config.yaml',
      ]),
    );
    // kemu init is told which members to make certificates for.
    expect(p.services.find((s) => s.name === 'init')?.environment).toEqual(expect.objectContaining({ KEMU_SUBNET: '172.30', KEMU_ETCD_EXTRA_MEMBERS: '0' }));
    // The other members, each with its own certificates, peers over TLS too (compose/etcd-3.env under Docker).
    const three = parseCompose(text, { ...env, ...Object.fromEntries(envFile('etcd-3.env')) });
    const etcd3 = three.services.find((s) => s.name === 'etcd-3')?.command ?? [];
    expect(etcd3).toEqual(
      expect.arrayContaining([
        '--cert-file=/s/pki/etcd/etcd-3-server.crt',
        '--peer-cert-file=/s/pki/etcd/etcd-3-peer.crt',
        '--peer-client-cert-auth=true',
        '--client-cert-auth=true',
        '--initial-cluster=etcd=https://172.28.0.2:2380,etcd-2=https://172.28.0.11:2380,etcd-3=https://172.28.0.12:2380',
      ]),
    );
    expect(etcd3.filter((f) => f.includes('http://'))).toEqual(['--listen-metrics-urls=http://127.0.0.1:2381,http://172.30.0.12:2381']);
    expect(three.services.find((s) => s.name === 'apiserver')?.command).toContain(
      '--etcd-servers=https://172.30.0.2:2379,https://172.28.0.11:2379,https://172.28.0.12:2379',
    );
    expect(three.services.find((s) => s.name === 'init')?.environment?.KEMU_ETCD_EXTRA_MEMBERS).toBe('1');
  });
  it('starts dependencies first', () => {
    const p = parseCompose(text, {});
    const order = startOrder(p.services).map((s) => s.name);
    expect(order.indexOf('etcd')).toBeLessThan(order.indexOf('apiserver'));
    expect(order.indexOf('init')).toBeLessThan(order.indexOf('apiserver'));
  });
  it('refuses cycles', () => {
    const bad = 'name: x\nservices:\n  a: {depends_on: [b]}\n  b: {depends_on: [a]}\nnetworks:\n  n: {ipam: {config: [{subnet: 10.0.0.0/8}]}}\n';
    expect(() => startOrder(parseCompose(bad, {}).services)).toThrow(/cycle/);
  });
});

describe('addresses', () => {
  const svc = (name: string, address?: string) => ({ name, command: [], environment: {}, dependsOn: [], oneShot: false, address });
  it('expands replicas inside their /24 and refuses more than it holds', () => {
    expect(expandReplicas({ ...svc('node'), replicas: 2, addressPrefix: '10.1.2.' }, 'p').map((s) => s.address)).toEqual(['10.1.2.1', '10.1.2.2']);
    expect(expandReplicas({ ...svc('node'), replicas: 254, addressPrefix: '10.1.2.' }, 'p').at(-1)?.address).toBe('10.1.2.254');
    expect(() => expandReplicas({ ...svc('node'), replicas: 255, addressPrefix: '10.1.2.' }, 'p')).toThrow(
      'compose file: node: 255 replicas do not fit in 10.1.2.1-254',
    );
  });
  it.each(['10.1.2', '10.1.', '10.1.256.', 'x.y.z.'])('refuses the address prefix %j', (prefix) => {
    expect(() => expandReplicas({ ...svc('node'), replicas: 1, addressPrefix: prefix }, 'p')).toThrow(/must be the first three octets of an address/);
  });
  it.each([
    ['10.0.0.0/33', undefined, [], "compose file: the network's subnet: invalid CIDR address: 10.0.0.0/33"],
    ['172.30.0.0/16', '172.31.0.1', [], "compose file: the network's gateway: 172.31.0.1 is not in the network's subnet 172.30.0.0/16"],
    ['172.30.0.0/16', '172.30.0.1', [svc('etcd', '172.30.0.300')], 'compose file: service etcd: invalid IP address: "172.30.0.300"'],
    ['172.30.0.0/16', '172.30.0.1', [svc('etcd', '10.0.0.2')], "compose file: service etcd: 10.0.0.2 is not in the network's subnet 172.30.0.0/16"],
    ['172.30.0.0/16', '172.30.0.1', [svc('a', '172.30.0.2'), svc('b', '172.30.0.2')], 'compose file: services a and b both have the address 172.30.0.2'],
  ])('subnet %s, gateway %s: %j is refused', (subnet, gateway, services, want) => {
    expect(() => checkAddresses(subnet, gateway, services)).toThrow(want);
  });
  it('accepts the repository compose file for any --subnet', () => {
    const text = readFileSync(new URL('../../../compose/docker-compose.yml', import.meta.url), 'utf8');
    expect(() => parseCompose(text, { KEMU_SUBNET: '10.77', KEMU_NODES: '5' })).not.toThrow();
  });
});

describe('the compose document', () => {
  const net = 'networks: { n: { ipam: { config: [{ subnet: 10.9.0.0/16 }] } } }\n';
  it('reads the forms compose allows: lists or mappings, scalars as strings', () => {
    const d = readDocument({
      services: {
        a: { command: 'x y', environment: ['A=1'], depends_on: { b: null }, networks: ['n'], deploy: { replicas: 2 }, restart: 'no' },
        b: {
          command: ['z', 5],
          environment: { B: 2 },
          depends_on: ['a'],
          networks: { n: { ipv4_address: '10.9.0.2' } },
          healthcheck: { test: ['CMD', 'true'] },
        },
      },
    });
    expect(d.services.a).toMatchObject({
      command: 'x y',
      environment: ['A=1'],
      depends_on: { b: {} },
      networks: ['n'],
      deploy: { replicas: 2 },
      restart: 'no',
    });
    expect(d.services.b).toMatchObject({
      command: ['z', '5'],
      environment: { B: '2' },
      depends_on: ['a'],
      networks: { n: { ipv4_address: '10.9.0.2' } },
      healthcheck: { test: ['CMD', 'true'] },
    });
  });
  it.each([
    [{ services: [] }, 'compose file: services must be a mapping'],
    [{ services: { a: { environment: 5 } } }, 'compose file: services.a.environment must be a mapping'],
    [{ services: { a: { command: { x: 1 } } } }, 'compose file: services.a.command must be a string'],
    [
      { services: { a: { depends_on: { b: { condition: 'service_ready' } } } } },
      'compose file: services.a.depends_on.b.condition must be one of service_started, service_healthy, service_completed_successfully',
    ],
    [{ networks: { n: { ipam: { config: {} } } } }, 'compose file: networks.n.ipam.config must be a list'],
  ])('%j: refused, saying where', (doc, want) => expect(() => readDocument(doc)).toThrow(want));
  it("gives the network a gateway as Docker does when the file names none: the subnet's first address", () => {
    expect(parseCompose(`${net}services: { a: { command: x, networks: { n: { ipv4_address: 10.9.0.2 } } } }\n`, {}).gateway).toBe('10.9.0.1');
  });
});

describe('--subnet', () => {
  it.each([
    ['172.28', '172.28.0.0/16'],
    ['10.0', '10.0.0.0/16'],
  ])('%s is %s', (prefix, want) => expect(clusterNetwork(prefix)).toBe(want));
  it.each(['172', '172.28.1', '172.300', '172.028', 'a.b', ''])('refuses %j', (prefix) => {
    expect(() => clusterNetwork(prefix)).toThrow(`--subnet: "${prefix}" is not the first two octets of an IPv4 network (like 172.28)`);
  });
});
