import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCompose } from './compose.js';
import { addonObjects, withClusterSettings } from './addons.js';
import { DEFAULT_SETTINGS, compileSettings, describeSettings, settingsEnv, settingsFromEnv, type ClusterSettings, type SettingsInput } from './settings.js';

const NODE_NET = '172.28.0.0/16';
const compile = (given: SettingsInput, o: { nodes?: number; recorded?: ClusterSettings } = {}) =>
  compileSettings(given, { nodeNetwork: NODE_NET, nodes: o.nodes ?? 3, recorded: o.recorded });

const composeText = readFileSync(new URL('../../../compose/docker-compose.yml', import.meta.url), 'utf8');
const flagsOf = (env: Record<string, string>, service: string) =>
  parseCompose(composeText, { KEMU_NODES: '1', ...env }).services.find((s) => s.name === service)?.command ?? [];
const ADDONS = resolve(import.meta.dirname, '../../../compose/addons');

describe('cluster settings: options', () => {
  it('default to what kemu ran before them (kubeadm defaults)', () => {
    expect(compile({})).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS).toMatchObject({ serviceCIDR: '10.96.0.0/12', dnsIP: '10.96.0.10', podCIDR: '10.244.0.0/16', clusterDomain: 'cluster.local' });
  });

  it("put the DNS address at the service range's 10th address unless given, as kubeadm", () => {
    expect(compile({ serviceCidr: '10.0.0.0/24' }).dnsIP).toBe('10.0.0.10');
    expect(compile({ serviceCidr: '10.100.0.0/16' }).dnsIP).toBe('10.100.0.10');
    expect(compile({ serviceCidr: '10.0.0.0/16', dnsIp: '10.0.0.53' }).dnsIP).toBe('10.0.0.53');
  });

  it('take the tutorial settings', () => {
    const s = compile({
      serviceCidr: '10.0.0.0/16',
      dnsIp: '10.0.0.10',
      clusterDomain: 'Kemu.Test.',
      dnsReplicas: '1',
      dnsLegacyNames: true,
      podCidr: '10.200.0.0/16',
    });
    expect(s).toEqual({
      serviceCIDR: '10.0.0.0/16',
      podCIDR: '10.200.0.0/16',
      clusterDomain: 'kemu.test',
      dnsIP: '10.0.0.10',
      dnsReplicas: 1,
      dns: true,
      dnsLegacyNames: true,
      controlPlaneNode: false,
      etcdMembers: 1,
    });
    expect(describeSettings(s)).toBe(
      'services 10.0.0.0/16 (kubernetes 10.0.0.1), pods 10.200.0.0/16, domain kemu.test, DNS 10.0.0.10 (1 replica, pre-1.2 names answered)',
    );
    expect(compile({ dns: 'off' }).dns).toBe(false);
  });

  it.each<[SettingsInput, string]>([
    [{ serviceCidr: '10.0.0/24' }, '--service-cidr: "10.0.0/24" is not an IPv4 CIDR'],
    [{ serviceCidr: '10.0.0.5/24' }, '--service-cidr: "10.0.0.5/24" has host bits set: the range is 10.0.0.0/24'],
    [{ serviceCidr: '10.0.0.0/8' }, '--service-cidr: 10.0.0.0/8 is too large: for IPv4 the mask must be /12 or longer'],
    [{ serviceCidr: '10.0.0.0/30' }, '--service-cidr: 10.0.0.0/30 is too small'],
    [{ serviceCidr: '10.0.0.0/24', dnsIp: '10.0.125.105' }, '--dns-ip: 10.0.125.105 is not in the service range 10.0.0.0/24'],
    [{ dnsIp: '10.96.0.1' }, "--dns-ip: 10.96.0.1 is the kubernetes Service's address"],
    [{ dnsIp: '10.96.0.0' }, '--dns-ip: 10.96.0.0 is the network or broadcast address of 10.96.0.0/12'],
    [{ dnsIp: 'ten' }, '--dns-ip: "ten" is not an IPv4 address'],
    [{ serviceCidr: '172.28.0.0/24' }, '--service-cidr: 172.28.0.0/24 overlaps the node network 172.28.0.0/16 (--subnet)'],
    [{ podCidr: '172.0.0.0/8' }, '--pod-cidr: 172.0.0.0/8 overlaps the node network 172.28.0.0/16'],
    [{ serviceCidr: '10.244.0.0/16', dnsIp: '10.244.0.10' }, '--service-cidr: 10.244.0.0/16 overlaps the pod range 10.244.0.0/16'],
    [{ podCidr: '127.0.0.0/16' }, '--pod-cidr: 127.0.0.0/16 overlaps the loopback addresses 127.0.0.0/8'],
    [{ podCidr: '10.244.0.0/25' }, '--pod-cidr: 10.244.0.0/25 is too small: every node gets a /24 of it'],
    [{ podCidr: '10.244.0.0/23' }, '--pod-cidr: 10.244.0.0/23 holds 2 node ranges (/24), not 3'],
    [{ clusterDomain: 'my_domain' }, '--cluster-domain: "my_domain" is not a DNS domain'],
    [{ dnsReplicas: '0' }, '--dns-replicas: at least 1 (--dns off runs no cluster DNS)'],
    [{ dnsReplicas: 'two' }, '--dns-replicas: "two" is not a whole number'],
    [{ dns: 'maybe' }, '--dns: "maybe" is not on or off'],
    [{ dns: 'off', dnsLegacyNames: true }, '--dns-legacy-names: names are answered by the cluster DNS, which --dns off does not run'],
  ])('refuse %j before anything starts', (given, message) => {
    expect(() => compile(given)).toThrow(message);
  });

  it('are fixed when the cluster is made: the same again is fine, a change is refused', () => {
    const recorded = compile({ serviceCidr: '10.0.0.0/16', clusterDomain: 'kemu.test' });
    expect(compile({}, { recorded })).toEqual(recorded);
    expect(compile({ serviceCidr: '10.0.0.0/16' }, { recorded })).toEqual(recorded);
    expect(() => compile({ clusterDomain: 'cluster.local' }, { recorded })).toThrow(
      'the cluster was made with clusterDomain kemu.test: its settings are fixed when it is made',
    );
  });

  it('read the compose variables, empty ones as absent', () => {
    expect(settingsFromEnv({ KEMU_SERVICE_CIDR: '10.0.0.0/16', KEMU_DNS: 'off', KEMU_DNS_IP: '', PATH: '/bin' })).toEqual({
      serviceCidr: '10.0.0.0/16',
      dns: 'off',
    });
  });
});

describe('cluster settings: the compose file carries them to every component', () => {
  it('whose defaults are the default settings', () => {
    for (const svc of ['init', 'apiserver', 'controller-manager', 'node-1', 'node-1/kube-proxy'])
      expect(flagsOf({}, svc)).toEqual(flagsOf(settingsEnv(DEFAULT_SETTINGS, '172.28'), svc));
  });

  it('gives each component the flag of its setting', () => {
    const env = settingsEnv(compile({ serviceCidr: '10.0.0.0/16', podCidr: '10.200.0.0/16', clusterDomain: 'kemu.test', dnsIp: '10.0.0.10' }), '172.28');
    expect(flagsOf(env, 'init')).toEqual(expect.arrayContaining(['--service-cidr=10.0.0.0/16', '--cluster-domain=kemu.test']));
    expect(flagsOf(env, 'apiserver')).toEqual(
      expect.arrayContaining(['--service-cluster-ip-range=10.0.0.0/16', '--service-account-issuer=https://kubernetes.default.svc.kemu.test']),
    );
    expect(flagsOf(env, 'controller-manager-2')).toEqual(expect.arrayContaining(['--cluster-cidr=10.200.0.0/16']));
    expect(flagsOf(env, 'node-1')).toEqual(expect.arrayContaining(['--cluster-dns=10.0.0.10', '--cluster-domain=kemu.test', '--cluster-cidr=10.200.0.0/16']));
    expect(flagsOf(env, 'node-1/kube-proxy')).toEqual(expect.arrayContaining(['--cluster-cidr=10.200.0.0/16', '--service-cluster-ip-range=10.0.0.0/16']));
    expect(composeText).not.toMatch(/=10\.96\.0\.0\/12$|=10\.244\.0\.0\/16$|=cluster\.local$/m);
  });
});

describe('cluster settings: the DNS add-on', () => {
  const objects = addonObjects(ADDONS);
  const find = (objs: typeof objects, kind: string, name: string) => objs.find((o) => o.kind === kind && o.name === name);

  it('is the manifest as written for the defaults', () => {
    expect(withClusterSettings(objects, DEFAULT_SETTINGS)).toEqual(objects);
  });

  it('takes the DNS address, domain, replicas and the pre-1.2 names', () => {
    const s = compile({ serviceCidr: '10.0.0.0/16', clusterDomain: 'kemu.test', dnsReplicas: '1', dnsLegacyNames: true });
    const objs = withClusterSettings(objects, s);
    expect(find(objs, 'Service', 'kube-dns')?.body.spec).toMatchObject({ clusterIP: '10.0.0.10' });
    const corefile = (find(objs, 'ConfigMap', 'coredns')?.body.data as { Corefile: string }).Corefile;
    expect(corefile).toContain('kubernetes kemu.test in-addr.arpa ip6.arpa {');
    expect(corefile).not.toContain('cluster.local');
    const deploy = find(objs, 'Deployment', 'coredns')?.body as { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    expect(deploy.spec.replicas).toBe(1);
    expect(deploy.spec.template.spec.containers[0]?.args).toEqual(['-conf', '/etc/coredns/Corefile', '--legacy-names']);
    // The manifest read from the file is left as it was.
    expect(find(objects, 'Service', 'kube-dns')?.body.spec).toMatchObject({ clusterIP: '10.96.0.10' });
  });

  it('is left out with --dns off; the other add-ons stay', () => {
    const objs = withClusterSettings(objects, compile({ dns: 'off' }));
    expect(objs.filter((o) => o.file === 'dns.yaml')).toEqual([]);
    expect(find(objs, 'Deployment', 'ingress-nginx-controller')).toBeDefined();
    // Pods still get the resolver of the clusterDNS, as kubelets write it.
    expect(flagsOf(settingsEnv(compile({ dns: 'off' }), '172.28'), 'node-1')).toEqual(expect.arrayContaining(['--cluster-dns=10.96.0.10']));
  });
});

describe('cluster settings: etcd members', () => {
  it('3 members: etcd, etcd-2 and etcd-3 one cluster on the cluster network, the api-server told of all three', () => {
    const env = settingsEnv(compile({ etcdMembers: '3' }), '172.28');
    const peers = 'etcd=https://172.28.0.2:2380,etcd-2=https://172.28.0.11:2380,etcd-3=https://172.28.0.12:2380';
    expect(flagsOf(env, 'etcd')).toEqual(expect.arrayContaining([`--initial-cluster=${peers}`, '--initial-advertise-peer-urls=https://172.28.0.2:2380']));
    expect(flagsOf(env, 'etcd-3')).toEqual(expect.arrayContaining([`--initial-cluster=${peers}`, '--name=etcd-3']));
    expect(flagsOf(env, 'apiserver')).toEqual(
      expect.arrayContaining(['--etcd-servers=https://172.28.0.2:2379,https://172.28.0.11:2379,https://172.28.0.12:2379']),
    );
  });
  it('1 member (the default): no etcd-2 or etcd-3, the peer port on loopback as before', () => {
    const env = settingsEnv(compile({}), '172.28');
    expect(flagsOf(env, 'etcd')).toEqual(expect.arrayContaining(['--initial-cluster=etcd=https://127.0.0.1:2380']));
    expect(flagsOf(env, 'etcd-2')).toEqual([]);
    expect(() => compile({ etcdMembers: '2' })).toThrow('--etcd-members: "2" is not 1 or 3');
  });
});
