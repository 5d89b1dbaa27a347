import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonObjects, dnsFirst, withoutDnsForward } from './addons.js';

const ADDONS = resolve(import.meta.dirname, '../../../compose/addons');

describe('add-on manifests', () => {
  it('name a served kind and a collection to create in, for every object', () => {
    const objs = addonObjects(ADDONS);
    const byKind = Object.fromEntries(objs.map((o) => [`${o.kind}/${o.name}`, o.path]));
    expect(byKind['Deployment/coredns']).toBe('/apis/apps/v1/namespaces/kube-system/deployments');
    expect(byKind['Service/kube-dns']).toBe('/api/v1/namespaces/kube-system/services');
    expect(byKind['ClusterRole/system:coredns']).toBe('/apis/rbac.authorization.k8s.io/v1/clusterroles');
    expect(byKind['Namespace/ingress-nginx']).toBe('/api/v1/namespaces');
    expect(byKind['Role/ingress-nginx']).toBe('/apis/rbac.authorization.k8s.io/v1/namespaces/ingress-nginx/roles');
    expect(byKind['IngressClass/nginx']).toBe('/apis/networking.k8s.io/v1/ingressclasses');
    expect(byKind['Deployment/ingress-nginx-controller']).toBe('/apis/apps/v1/namespaces/ingress-nginx/deployments');
  });
  it('can drop the DNS forward block, leaving the rest of the Corefile', () => {
    const objs = withoutDnsForward(addonObjects(ADDONS));
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.name === 'coredns')!;
    const corefile = (cm.body.data as { Corefile: string }).Corefile;
    expect(corefile).not.toContain('forward');
    expect(corefile).not.toContain('max_concurrent');
    expect(corefile).toContain('kubernetes cluster.local');
    expect(corefile).toContain('prometheus :9153');
  });
  it('put the DNS add-on first and keep each file in its own order', () => {
    const objs = addonObjects(ADDONS);
    const { dns, rest } = dnsFirst(objs);
    expect(dns.map((o) => `${o.kind}/${o.name}`)).toContain('Deployment/coredns');
    expect(dns.every((o) => o.file === 'dns.yaml')).toBe(true);
    expect(rest.map((o) => `${o.kind}/${o.name}`)).toContain('Deployment/ingress-nginx-controller');
    expect(rest[0]).toMatchObject({ kind: 'Namespace', name: 'ingress-nginx' });
    expect(dns.length + rest.length).toBe(objs.length);
  });
});
