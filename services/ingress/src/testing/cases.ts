/** The Ingress examples of the Kubernetes documentation and ingress-nginx's, by golden file name (config/testdata). */
import type { ClusterState } from '../config/model.js';
import { cluster, ingress, path, rule, service, tlsSecret } from './objects.js';

export const CASES: Record<string, () => ClusterState> = {
  // kubernetes.io/docs/concepts/services-networking/ingress: "Simple fanout".
  'simple-fanout': () =>
    cluster({
      ingresses: [ingress('simple-fanout-example', { rules: [rule('foo.bar.com', path('/foo', 'service1', 4200), path('/bar', 'service2', 8080))] })],
      backends: [service('service1', ['10.244.1.10', '10.244.2.10'], { port: 4200 }), service('service2', ['10.244.1.11'], { port: 8080 })],
    }),
  // "Name based virtual hosting", with the host-less rule that catches every other host.
  'virtual-hosts': () =>
    cluster({
      ingresses: [
        ingress('name-virtual-host-ingress', {
          rules: [rule('foo.bar.com', path('/', 'service1')), rule('bar.foo.com', path('/', 'service2')), rule(undefined, path('/', 'service3'))],
        }),
      ],
      backends: [service('service1', ['10.244.1.10']), service('service2', ['10.244.1.11']), service('service3', ['10.244.1.12'])],
    }),
  // "TLS": the certificate of secure.example by SNI, and plain HTTP redirected (ingress-nginx's ssl-redirect).
  tls: () =>
    cluster({
      ingresses: [
        ingress('tls-example-ingress', {
          tls: [{ hosts: ['secure.example'], secretName: 'testsecret-tls' }],
          rules: [rule('secure.example', path('/', 'service1'))],
        }),
        ingress(
          'no-redirect',
          { tls: [{ hosts: ['plain.example'], secretName: 'testsecret-tls' }], rules: [rule('plain.example', path('/', 'service1'))] },
          { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
        ),
      ],
      backends: [service('service1', ['10.244.1.10'])],
      secrets: [tlsSecret('testsecret-tls')],
    }),
  // ingress-nginx's rewrite example (captures), and the older annotation's plain `/`.
  rewrite: () =>
    cluster({
      ingresses: [
        ingress(
          'rewrite',
          { rules: [rule('rewrite.bar.com', path('/something(/|$)(.*)', 'http-svc', 80, 'ImplementationSpecific'))] },
          { 'nginx.ingress.kubernetes.io/use-regex': 'true', 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' },
        ),
        ingress('old-rewrite', { rules: [rule('old.bar.com', path('/app', 'http-svc'), path('/', 'web'))] }, { 'ingress.kubernetes.io/rewrite-target': '/' }),
      ],
      backends: [service('http-svc', ['10.244.1.10']), service('web', ['10.244.1.11'])],
    }),
  // Every path type on one host (Exact beats the Prefix at the same path), and a wildcard host.
  'path-types': () =>
    cluster({
      ingresses: [
        ingress('paths', {
          rules: [
            rule('paths.example', path('/foo/', 'prefix'), path('/foo', 'exact', 80, 'Exact'), path('/impl', 'impl', 80, 'ImplementationSpecific')),
            rule('*.wild.example', path('/', 'wild')),
          ],
        }),
      ],
      backends: [service('prefix', ['10.244.1.1']), service('exact', ['10.244.1.2']), service('impl', ['10.244.1.3']), service('wild', ['10.244.1.4'])],
    }),
  // 503 without a ready endpoint or without the Service; the pods of a Service in any namespace.
  'no-endpoints': () =>
    cluster({
      ingresses: [
        ingress('empty', { rules: [rule('empty.example', path('/', 'empty'), path('/missing', 'missing'))] }),
        ingress('other-ns', { rules: [rule('other.example', path('/', 'web'))] }, {}, 'team-a'),
      ],
      backends: [service('empty', [], { notReady: ['10.244.1.9'] }), service('web', ['10.244.3.3'], { namespace: 'team-a' })],
    }),
  // An Ingress with only a defaultBackend takes the catch-all server; one with rules, the rest of its hosts.
  'default-backend': () =>
    cluster({
      ingresses: [
        ingress('catch-all', { defaultBackend: { service: { name: 'fallback', port: { number: 80 } } } }),
        ingress('with-rules', { defaultBackend: { service: { name: 'fallback', port: { number: 80 } } }, rules: [rule('app.example', path('/api', 'api'))] }),
      ],
      backends: [service('fallback', ['10.244.1.20']), service('api', ['10.244.1.21'])],
    }),
};
