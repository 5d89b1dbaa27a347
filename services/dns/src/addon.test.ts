import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ConfigMap, Service } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { parseCorefile } from './corefile.js';

const docs = parseAllDocuments(readFileSync(resolve(import.meta.dirname, '../../../compose/addons/dns.yaml'), 'utf8')).map(
  (d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } },
);
const find = <T>(kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name) as T;

describe('compose/addons/dns.yaml', () => {
  it('ships what upstream ships, in kube-system', () => {
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'ServiceAccount/coredns',
      'ClusterRole/system:coredns',
      'ClusterRoleBinding/system:coredns',
      'ConfigMap/coredns',
      'Deployment/coredns',
      'Service/kube-dns',
    ]);
    for (const d of docs) if (!d.kind.startsWith('Cluster')) expect(d.metadata.namespace).toBe('kube-system');
  });

  it('kube-dns: 10.96.0.10, dns 53/UDP, dns-tcp 53/TCP, metrics 9153, selecting the coredns pods', () => {
    const svc = find<Service>('Service', 'kube-dns');
    expect(svc.spec?.clusterIP).toBe('10.96.0.10');
    expect(svc.spec?.ports?.map((p) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
    const deploy = find<Deployment>('Deployment', 'coredns');
    expect(deploy.spec?.replicas).toBe(2);
    expect(deploy.spec?.template.metadata?.labels).toMatchObject(svc.spec?.selector ?? { missing: true });
    expect(svc.metadata?.labels?.['k8s-app']).toBe('kube-dns');
  });

  it("the Deployment's probes and ports are those of its Corefile", () => {
    const corefile = find<ConfigMap>('ConfigMap', 'coredns').data?.Corefile ?? '';
    const conf = parseCorefile(corefile);
    expect(conf).toMatchObject({
      port: 53,
      zone: 'cluster.local',
      healthPort: 8080,
      readyPort: 8181,
      metricsPort: 9153,
      forward: { resolvConf: '/etc/resolv.conf' },
    });
    const c = find<Deployment>('Deployment', 'coredns').spec?.template.spec?.containers[0];
    expect(c?.image).toBe('registry.k8s.io/coredns/coredns:v1.11.1');
    expect(c?.args).toEqual(['-conf', '/etc/coredns/Corefile']);
    expect(c?.readinessProbe?.httpGet).toMatchObject({ path: '/ready', port: conf.readyPort });
    expect(c?.livenessProbe?.httpGet).toMatchObject({ path: '/health', port: conf.healthPort });
    expect(c?.ports?.map((p) => `${p.containerPort}/${p.protocol}`)).toEqual(['53/UDP', '53/TCP', `${conf.metricsPort}/TCP`]);
  });
});
