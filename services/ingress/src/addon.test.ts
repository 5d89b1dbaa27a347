import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { IngressClass } from 'kubernetes-types/networking/v1.js';
import { isServed } from './config/classes.js';
import { ingress } from './testing/objects.js';

const docs = parseAllDocuments(readFileSync(resolve(import.meta.dirname, '../../../compose/addons/ingress-nginx.yaml'), 'utf8')).map(
  (d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } },
);
const find = <T>(kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name) as T;

describe('compose/addons/ingress-nginx.yaml', () => {
  it("ships what ingress-nginx's manifest ships (without the admission webhook), in ingress-nginx, namespace first", () => {
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'Namespace/ingress-nginx',
      'ServiceAccount/ingress-nginx',
      'ClusterRole/ingress-nginx',
      'ClusterRoleBinding/ingress-nginx',
      'Role/ingress-nginx',
      'RoleBinding/ingress-nginx',
      'IngressClass/nginx',
      'Service/ingress-nginx-controller',
      'Deployment/ingress-nginx-controller',
    ]);
    for (const d of docs)
      if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'IngressClass'].includes(d.kind)) expect(d.metadata.namespace).toBe('ingress-nginx');
  });

  it('the nginx class is the default, so Ingresses without a class are served', () => {
    const cls = find<IngressClass>('IngressClass', 'nginx');
    expect(cls.spec?.controller).toBe('k8s.io/ingress-nginx');
    const opts = { controllerClass: 'k8s.io/ingress-nginx', ingressClass: 'nginx', watchWithoutClass: false };
    expect(isServed(ingress('x', {}), [cls], opts)).toBe(true);
  });

  it('a LoadBalancer Service on 80 and 443 in front of the controller pods, which it publishes', () => {
    const svc = find<Service>('Service', 'ingress-nginx-controller');
    expect(svc.spec?.type).toBe('LoadBalancer');
    expect(svc.spec?.ports?.map((p) => `${p.port}/${p.protocol}->${p.targetPort}`)).toEqual(['80/TCP->http', '443/TCP->https']);
    const deploy = find<Deployment>('Deployment', 'ingress-nginx-controller');
    expect(deploy.spec?.template.metadata?.labels).toMatchObject(svc.spec?.selector ?? { missing: true });
    expect(deploy.spec?.template.metadata?.labels?.['app.kubernetes.io/name']).toBe('ingress-nginx');
    const c = deploy.spec?.template.spec?.containers[0];
    expect(c?.image).toMatch(/^registry\.k8s\.io\/ingress-nginx\/controller:v1\./);
    expect(c?.ports?.map((p) => `${p.name} ${p.containerPort}`)).toEqual(['http 80', 'https 443']);
    expect(c?.args).toContain('--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller');
    expect(c?.readinessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 10254 });
    expect(deploy.spec?.template.spec?.serviceAccountName).toBe('ingress-nginx');
  });
});
