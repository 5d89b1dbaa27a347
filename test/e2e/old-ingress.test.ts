/**
 * Ingress manifests of before Kubernetes 1.19 (networking.k8s.io/v1beta1 and
 * extensions/v1beta1: serviceName/servicePort, spec.backend) apply with the
 * real kubectl, are stored as networking.k8s.io/v1, read back in every
 * version, and `kubectl get ingress` lists them; discovery lists the old
 * versions after v1, and requests to them carry the warning kube-apiserver
 * sent while it served them (a 1.32 api-server no longer does: see README).
 * `kubectl create ingress` (protobuf) works too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { k, kubectl, namespace, parseJson } from './helpers.js';

let ns: string;

const OLD = `
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: two-hosts
spec:
  rules:
  - host: a.example
    http:
      paths:
      - backend:
          serviceName: web-a
          servicePort: 80
  - host: b.example
    http:
      paths:
      - path: /
        backend:
          serviceName: web-b
          servicePort: http
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: default-only
spec:
  backend:
    serviceName: web-a
    servicePort: 80
`;

beforeAll(async () => {
  ns = await namespace('old-ingress');
});

afterAll(async () => {
  await kubectl(['delete', 'ingressclass', 'old-class', '--ignore-not-found']);
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('old Ingress versions', () => {
  it('apply with the deprecation warnings, are stored as v1 and listed by kubectl get ingress', async () => {
    const applied = await kubectl(['apply', '-n', ns, '-f', '-'], { input: OLD });
    expect(applied.exitCode).toBe(0);
    expect(applied.stdout).toContain('ingress.networking.k8s.io/two-hosts created');
    expect(applied.stdout).toContain('ingress.extensions/default-only created');
    expect(applied.stderr).toContain(
      'Warning: networking.k8s.io/v1beta1 Ingress is deprecated in v1.19+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress',
    );
    expect(applied.stderr).toContain('Warning: extensions/v1beta1 Ingress is deprecated in v1.14+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress');

    const table = await k(['get', 'ingress', '-n', ns]);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE$/);
    expect(table).toMatch(/\ntwo-hosts\s+<none>\s+a\.example,b\.example\s+/);
    expect(table).toMatch(/\ndefault-only\s+<none>\s+\*\s+/);

    const v1 = parseJson<Ingress>(await k(['get', 'ingress', '-n', ns, 'two-hosts', '-o', 'json']));
    expect(v1.apiVersion).toBe('networking.k8s.io/v1');
    expect(v1.spec?.rules?.map((r) => r.http?.paths[0])).toEqual([
      { pathType: 'ImplementationSpecific', backend: { service: { name: 'web-a', port: { number: 80 } } } },
      { path: '/', pathType: 'ImplementationSpecific', backend: { service: { name: 'web-b', port: { name: 'http' } } } },
    ]);
    expect(
      await k(['get', 'ingress', '-n', ns, 'default-only', '-o', 'jsonpath={.spec.defaultBackend.service.name}:{.spec.defaultBackend.service.port.number}']),
    ).toBe('web-a:80');
    // Applied again (kubectl's last-applied annotation is in the old version): the same Ingress.
    await k(['apply', '-n', ns, '-f', '-'], { input: OLD });
    expect(parseJson<Ingress>(await k(['get', 'ingress', '-n', ns, 'two-hosts', '-o', 'json'])).spec).toEqual(v1.spec);
    // Read in the old versions, in their own field names.
    expect(
      await k(['get', 'ingresses.v1beta1.networking.k8s.io', '-n', ns, 'two-hosts', '-o', 'jsonpath={.apiVersion} {.spec.rules[1].http.paths[0].backend}']),
    ).toBe('networking.k8s.io/v1beta1 {"serviceName":"web-b","servicePort":"http"}');
    expect(await k(['get', 'ingresses.v1beta1.extensions', '-n', ns, 'default-only', '-o', 'jsonpath={.apiVersion} {.spec.backend}'])).toBe(
      'extensions/v1beta1 {"serviceName":"web-a","servicePort":80}',
    );
    // Deleted through an old version too.
    await k(['delete', 'ingresses.v1beta1.networking.k8s.io', '-n', ns, 'two-hosts']);
    expect((await kubectl(['get', 'ingress', '-n', ns, 'two-hosts'])).stderr).toContain('not found');
  });

  it('the networking.k8s.io/v1beta1 IngressClass applies and reads as v1', async () => {
    const r = await kubectl(['apply', '-f', '-'], {
      input: 'apiVersion: networking.k8s.io/v1beta1\nkind: IngressClass\nmetadata: {name: old-class}\nspec: {controller: example.com/old}\n',
    });
    expect(r.stdout).toContain('ingressclass.networking.k8s.io/old-class created');
    expect(await k(['get', 'ingressclass', 'old-class', '-o', 'jsonpath={.apiVersion} {.spec.controller}'])).toBe('networking.k8s.io/v1 example.com/old');
  });

  it('discovery lists the old versions after v1, as the last api-servers that served them did', async () => {
    const versions = (await k(['api-versions'])).split('\n');
    expect(versions).toEqual(expect.arrayContaining(['extensions/v1beta1', 'networking.k8s.io/v1', 'networking.k8s.io/v1beta1']));
    const group = parseJson<{ versions: { version: string }[]; preferredVersion: { version: string } }>(await k(['get', '--raw', '/apis/networking.k8s.io']));
    expect(group.versions.map((v) => v.version)).toEqual(['v1', 'v1beta1']);
    expect(group.preferredVersion.version).toBe('v1');
    const resources = await k(['api-resources', '--api-group=networking.k8s.io']);
    expect(resources).toMatch(/\ningresses\s+ing\s+networking\.k8s\.io\/v1\s+true\s+Ingress/);
  });

  it('kubectl create ingress (a protobuf body) makes the Ingress it describes', async () => {
    await k(['create', 'ingress', 'simple', '-n', ns, '--class=nginx', '--rule=foo.example/bar*=svc1:8080,tls=my-cert', '--default-backend=defsvc:http']);
    const ing = parseJson<Ingress>(await k(['get', 'ingress', '-n', ns, 'simple', '-o', 'json']));
    expect(ing.spec).toEqual({
      ingressClassName: 'nginx',
      defaultBackend: { service: { name: 'defsvc', port: { name: 'http' } } },
      tls: [{ hosts: ['foo.example'], secretName: 'my-cert' }],
      rules: [{ host: 'foo.example', http: { paths: [{ path: '/bar', pathType: 'Prefix', backend: { service: { name: 'svc1', port: { number: 8080 } } } }] } }],
    });
  });
});
