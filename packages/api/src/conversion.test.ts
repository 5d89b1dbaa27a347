import { describe, expect, it } from 'vitest';
import { fromStorage, toStorage } from './conversion.js';
import { deprecationWarning, groups, lookupResource, type ResourceInfo } from './registry.js';
import { at } from './json.js';
import type { Ingress } from 'kubernetes-types/networking/v1.js';

describe('conversion of old group/versions', () => {
  it('defaults an apps/v1beta1 Deployment selector from its template labels', () => {
    const info = lookupResource('apps', 'v1beta1', 'deployments') as ResourceInfo;
    const out = toStorage(info, {
      apiVersion: 'apps/v1beta1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { template: { metadata: { labels: { app: 'x' } } } },
    });
    expect(out.apiVersion).toBe('apps/v1');
    expect(at(out, 'spec', 'selector')).toEqual({ matchLabels: { app: 'x' } });
  });
  it('converts extensions/v1beta1 Ingress backends both ways', () => {
    const info = lookupResource('extensions', 'v1beta1', 'ingresses') as ResourceInfo;
    const old = {
      apiVersion: 'extensions/v1beta1',
      kind: 'Ingress',
      metadata: { name: 'i' },
      spec: {
        backend: { serviceName: 'web', servicePort: 80 },
        rules: [{ host: 'a.com', http: { paths: [{ path: '/', backend: { serviceName: 'api', servicePort: 'http' } }] } }],
      },
    };
    const v1 = toStorage(info, old);
    expect(v1.apiVersion).toBe('networking.k8s.io/v1');
    expect(at(v1, 'spec', 'defaultBackend')).toEqual({ service: { name: 'web', port: { number: 80 } } });
    expect((v1 as Ingress).spec?.rules?.[0].http?.paths[0]).toEqual({
      path: '/',
      pathType: 'ImplementationSpecific',
      backend: { service: { name: 'api', port: { name: 'http' } } },
    });
    const back = fromStorage(info, v1);
    expect(at(back, 'spec', 'backend')).toEqual({ serviceName: 'web', servicePort: 80 });
  });
  it('serves networking.k8s.io/v1beta1 Ingresses as v1 ones: service and resource backends, pathType, class', () => {
    const info = lookupResource('networking.k8s.io', 'v1beta1', 'ingresses') as ResourceInfo;
    const resource = { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' };
    const rules = (paths: object[]) => [{ host: 'a.example', http: { paths } }];
    const tls = [{ hosts: ['a.example'], secretName: 'a-tls' }];
    const old = {
      apiVersion: 'networking.k8s.io/v1beta1',
      kind: 'Ingress',
      metadata: { name: 'fanout' },
      spec: {
        ingressClassName: 'nginx',
        tls,
        rules: rules([
          { path: '/foo', pathType: 'Prefix', backend: { serviceName: 'foo', servicePort: 4200 } },
          { path: '/bar', backend: { serviceName: 'bar', servicePort: 'http' } },
          { path: '/static', pathType: 'Exact', backend: { resource } },
        ]),
      },
    };
    const v1 = toStorage(info, old);
    expect(v1.apiVersion).toBe('networking.k8s.io/v1');
    expect((v1 as Ingress).spec).toEqual({
      ingressClassName: 'nginx',
      tls,
      rules: rules([
        { path: '/foo', pathType: 'Prefix', backend: { service: { name: 'foo', port: { number: 4200 } } } },
        { path: '/bar', pathType: 'ImplementationSpecific', backend: { service: { name: 'bar', port: { name: 'http' } } } },
        { path: '/static', pathType: 'Exact', backend: { resource } },
      ]),
    });
    // Read back at v1beta1: the old field names, the defaulted pathType kept (v1beta1 has it too).
    const back = fromStorage(info, v1);
    expect(back.apiVersion).toBe('networking.k8s.io/v1beta1');
    expect(at(back, 'spec', 'rules')).toEqual(
      rules([
        { path: '/foo', pathType: 'Prefix', backend: { serviceName: 'foo', servicePort: 4200 } },
        { path: '/bar', pathType: 'ImplementationSpecific', backend: { serviceName: 'bar', servicePort: 'http' } },
        { path: '/static', pathType: 'Exact', backend: { resource } },
      ]),
    );
  });
  it('serves the networking.k8s.io/v1beta1 IngressClass as the v1 one (the same fields)', () => {
    const info = lookupResource('networking.k8s.io', 'v1beta1', 'ingressclasses') as ResourceInfo;
    const spec = { controller: 'k8s.io/ingress-nginx' };
    const v1 = toStorage(info, { apiVersion: 'networking.k8s.io/v1beta1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec });
    expect(v1).toEqual({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec });
    expect(fromStorage(info, v1).apiVersion).toBe('networking.k8s.io/v1beta1');
  });
  it('lists the old versions after the current ones, and warns as kube-apiserver did while it served them', () => {
    const versions = (g: string) => groups().find((x) => x.name === g)?.versions;
    expect(versions('networking.k8s.io')).toEqual(['v1', 'v1beta1']);
    expect(versions('extensions')).toEqual(['v1beta1']);
    // A group served only for old manifests comes last: `kubectl get ingress` means networking.k8s.io's.
    expect(groups().at(-1)?.name).toBe('extensions');
    expect(deprecationWarning(lookupResource('extensions', 'v1beta1', 'ingresses')!)).toBe(
      'extensions/v1beta1 Ingress is deprecated in v1.14+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress',
    );
    expect(deprecationWarning(lookupResource('networking.k8s.io', 'v1beta1', 'ingresses')!)).toBe(
      'networking.k8s.io/v1beta1 Ingress is deprecated in v1.19+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress',
    );
    expect(deprecationWarning(lookupResource('networking.k8s.io', 'v1', 'ingresses')!)).toBeUndefined();
  });
});
