import { describe, expect, it } from 'vitest';
import { fromStorage, toStorage } from './conversion.js';
import { lookupResource, type ResourceInfo } from './registry.js';
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
});
