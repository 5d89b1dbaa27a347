/**
 * The rendered nginx.conf for the Ingress examples of the Kubernetes
 * documentation and ingress-nginx's, against golden files (testdata/*.conf;
 * `UPDATE_GOLDEN=1` rewrites them after a deliberate change — read the diff).
 * What nginx does with these files is checked by nginx.test.ts, with the
 * real nginx.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CASES } from '../testing/cases.js';
import { cluster, ingress, NGINX_CLASS, OPTIONS, path, rule, service, tlsSecret } from '../testing/objects.js';
import { render } from './render.js';

const golden = (name: string) => new URL(`testdata/${name}.conf`, import.meta.url);

describe('render: golden configurations', () => {
  for (const [name, state] of Object.entries(CASES)) {
    it(name, () => {
      const r = render(state(), OPTIONS);
      expect(r.problems).toEqual([]);
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden(name))) writeFileSync(golden(name), r.config);
      expect(r.config).toBe(readFileSync(golden(name), 'utf8'));
    });
  }
});

describe('render: which Ingresses, and what is left out', () => {
  /** One Ingress per way of naming a class (or none), each to `web`. */
  function classed() {
    const mk = (name: string, extra: object, ann: Record<string, string> = {}) =>
      ingress(name, { ...extra, rules: [rule(`${name}.example`, path('/', 'web'))] }, ann);
    return cluster({
      ingresses: [
        mk('by-class', { ingressClassName: 'nginx' }),
        mk('other-class', { ingressClassName: 'traefik' }),
        mk('legacy', {}, { 'kubernetes.io/ingress.class': 'nginx' }),
        mk('legacy-other', {}, { 'kubernetes.io/ingress.class': 'gce' }),
        mk('no-class', {}),
      ],
      backends: [service('web', ['10.244.1.1'])],
    });
  }

  it('serves its class, the legacy annotation and no class (nginx is the default); ignores other classes', () => {
    const state = classed();
    expect(render(state, OPTIONS).served).toEqual(['default/by-class', 'default/legacy', 'default/no-class']);
    const notDefault = { ...NGINX_CLASS, metadata: { name: 'nginx' } };
    expect(render({ ...state, classes: [notDefault] }, OPTIONS).served).toEqual(['default/by-class', 'default/legacy']);
    expect(render({ ...state, classes: [notDefault] }, { ...OPTIONS, watchWithoutClass: true }).served).toContain('default/no-class');
  });

  it('as a release of before IngressClass: the annotation alone decides, and no annotation is the class nginx', () => {
    const state = classed();
    const legacy = { ...OPTIONS, legacy: true };
    expect(render(state, { ...legacy, ingressClass: 'gce' }).served).toEqual(['default/legacy-other']);
    // spec.ingressClassName meant nothing then: those Ingresses have no annotation.
    expect(render(state, legacy).served).toEqual(['default/by-class', 'default/other-class', 'default/legacy', 'default/no-class']);
    // The current controller with another class still serves what the default IngressClass (nginx, ours) takes.
    expect(render(state, { ...OPTIONS, ingressClass: 'gce' }).served).toEqual(['default/by-class', 'default/legacy-other', 'default/no-class']);
  });

  it('--default-backend-service: unmatched requests go to its endpoints (503 while it has none); an Ingress default backend wins on its server', () => {
    const backend = service('default-http-backend', ['10.244.2.2'], { namespace: 'ingress-tutorial' });
    const web = service('web', ['10.244.1.1']);
    const state = cluster({ ingresses: [ingress('a', { rules: [rule('a.example', path('/app', 'web'))] })], backends: [backend, web] });
    const o = { ...OPTIONS, defaultBackendService: 'ingress-tutorial/default-http-backend' };
    const conf = render(state, o).config;
    expect(conf).toContain('upstream ingress-tutorial_default-http-backend_80 {\n        server 10.244.2.2:8080 max_fails=1 fail_timeout=10s;');
    // The catch-all server's / and a.example's unmatched paths.
    expect(conf.match(/proxy_pass http:\/\/ingress-tutorial_default-http-backend_80;/g)).toHaveLength(2);
    expect(conf).not.toContain('return 404;');
    const missing = render(cluster({ ingresses: state.ingresses.slice(), backends: [web] }), o).config;
    expect(missing.match(/return 503;/g)).toHaveLength(2);
    const catchAll = ingress('catch-all', { defaultBackend: { service: { name: 'web', port: { number: 80 } } } });
    const both = render({ ...state, ingresses: [...state.ingresses, catchAll] }, o).config;
    expect(both.match(/proxy_pass http:\/\/ingress-tutorial_default-http-backend_80;/g)).toHaveLength(1);
  });

  it('--annotations-prefix: reads the annotations under the prefix given; releases before IngressClass rewrite the prefix only', () => {
    const web = service('web', ['10.244.1.1']);
    const ing = ingress('rw', { rules: [rule('rw.example', path('/app', 'web'))] }, { 'custom.example/rewrite-target': '/' });
    const state = cluster({ ingresses: [ing], backends: [web] });
    expect(render(state, OPTIONS).config).not.toContain('rewrite ');
    expect(render(state, { ...OPTIONS, annotationsPrefix: 'custom.example' }).config).toContain('rewrite "(?i)/app" / break;');
    expect(render(state, { ...OPTIONS, annotationsPrefix: 'custom.example', legacy: true }).config).toContain('rewrite "(?i)^/app(?:/(.*))?$" /$1 break;');
  });

  it('leaves out an Ingress with a missing Service port or TLS secret, and configures the others as without it', () => {
    const state = cluster({
      ingresses: [
        ingress('bad-port', { rules: [rule('valid.example', path('/bad', 'web', 8080))] }),
        ingress('no-secret', { tls: [{ hosts: ['valid.example'], secretName: 'absent' }], rules: [rule('valid.example', path('/tls', 'web'))] }),
        ingress('valid', { rules: [rule('valid.example', path('/', 'web'))] }),
        ingress('broken-secret', { tls: [{ secretName: 'broken' }], rules: [rule('b.example', path('/', 'web'))] }),
        ingress('bad-rewrite', { rules: [rule('c.example', path('/', 'web'))] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/x; return 200' }),
      ],
      backends: [service('web', ['10.244.1.1'])],
      secrets: [tlsSecret('broken', 'not a certificate')],
    });
    const r = render(state, OPTIONS);
    expect(r.served).toEqual(['default/valid']);
    expect(r.problems.map((p) => [p.ingress, p.reason, p.message])).toEqual([
      ['default/bad-port', 'ServicePortNotFound', 'service default/web does not have a TCP port 8080'],
      ['default/no-secret', 'SecretNotFound', 'TLS secret default/absent does not exist'],
      ['default/broken-secret', 'InvalidCertificate', expect.stringContaining('TLS secret default/broken:')],
      ['default/bad-rewrite', 'InvalidAnnotation', 'rewrite-target "/x; return 200" contains a character nginx cannot take'],
    ]);
    const alone = render(cluster({ ingresses: [state.ingresses[2]], backends: [service('web', ['10.244.1.1'])] }), OPTIONS);
    expect(r.config).toBe(alone.config);
  });

  it('leaves out what the caller excludes, and says why', () => {
    const state = CASES['simple-fanout']();
    const why = { ingress: 'default/simple-fanout-example', reason: 'ConfigTestFailed', message: 'nginx: [emerg] ...' };
    const r = render(state, OPTIONS, new Map([[why.ingress, why]]));
    expect(r.served).toEqual([]);
    expect(r.problems).toEqual([why]);
    expect(r.config).not.toContain('foo.bar.com');
  });

  it('names the Ingress behind each location line', () => {
    const r = render(CASES['simple-fanout'](), OPTIONS);
    const lines = r.config.split('\n');
    const at = lines.findIndex((l) => l.includes('location /foo/')) + 1;
    expect(r.owners.get(at)).toBe('default/simple-fanout-example');
    expect(r.owners.get(lines.findIndex((l) => l.includes('upstream default_service1_4200')) + 1)).toBeUndefined();
  });

  it("takes a host's certificate from another Ingress than its rules, older or newer", () => {
    const web = service('web', ['10.244.1.1']);
    const tls = () => ingress('tls-only', { tls: [{ hosts: ['secure.example'], secretName: 'testsecret-tls' }] });
    const rules = () => ingress('rules', { rules: [rule('secure.example', path('/', 'web'))] });
    const tlsOlder = [tls(), rules()];
    const tlsNewer = [rules(), tls()];
    for (const ingresses of [tlsOlder, tlsNewer]) {
      const r = render(cluster({ ingresses, backends: [web], secrets: [tlsSecret('testsecret-tls')] }), OPTIONS);
      expect(r.files).toHaveLength(1);
      expect(r.config).toContain(`ssl_certificate ${r.files[0].path};`);
    }
  });

  it('writes each certificate once, named by its content', () => {
    const r = render(CASES.tls(), OPTIONS);
    expect(r.files).toHaveLength(1);
    expect(r.files[0].path).toMatch(/^\/etc\/nginx\/ssl\/default_testsecret-tls_[0-9a-f]{16}\.pem$/);
    expect(r.files[0].content).toContain('BEGIN CERTIFICATE');
    expect(r.files[0].content).toContain('PRIVATE KEY');
  });
});
