/**
 * `kubectl apply -f` of a `kind: List` (what `kubectl get -o yaml` prints):
 * kubectl validates a List's items itself, against the OpenAPI v2 document
 * it fetches as gnostic protobuf from /openapi/v2, and refuses an unknown
 * field with kube-openapi's message unless --validate=false. create, replace
 * and delete take a List too; `get -o yaml` output applies back; explain
 * reads v3 (and v2 when asked). /openapi/v2 answers JSON or protobuf by
 * Accept, 406 otherwise, with an ETag that a conditional GET gets 304 for;
 * a v3 document under its current hash may be cached for good.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigMap, Container, Service } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { api, ctx, deploymentManifest, k, kubectl, namespace, parseJson } from './helpers.js';

const namespaces: string[] = [];
let dir: string;

const configMap = (name: string): ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { greeting: 'hello' } });

function deployment(name: string, containers: Container[] = [{ name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 80 }] }]): Deployment {
  const d = deploymentManifest(name, 0, { containers });
  // int-or-string fields: kubectl checks them against the IntOrString definition.
  d.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } };
  return d;
}

const service = (name: string): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
});

const ingress = (name: string): Ingress => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name },
  spec: {
    rules: [{ host: `${name}.example`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] } }],
  },
});

const list = (items: object[]) => ({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items });

/** Write a manifest file as kubectl reads it from disk; returns its path. */
function file(name: string, content: object | string): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

const CREATED = ['configmap/app-config created', 'deployment.apps/web created', 'service/web created', 'ingress.networking.k8s.io/web created'];
const four = () => list([configMap('app-config'), deployment('web'), service('web'), ingress('web')]);

// A List whose Deployment's container has a field no Container has.
function withUnknownField(): object {
  const bad = deployment('typo', [{ name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 80 }] }]);
  (bad.spec!.template.spec!.containers[0] as unknown as Record<string, unknown>).imagePullPolicyy = 'Always';
  return list([configMap('typo-config'), bad]);
}
const UNKNOWN =
  'error validating data: ValidationError(Deployment.spec.template.spec.containers[0]): unknown field "imagePullPolicyy" in io.k8s.api.core.v1.Container; if you choose to ignore these errors, turn validation off with --validate=false';

beforeAll(() => {
  dir = join(ctx().home, 'openapi-v2');
  mkdirSync(dir, { recursive: true });
});

afterAll(async () => {
  for (const ns of namespaces) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

/** A namespace of its own for the tests of one describe block (deleted after the file). */
function ownNamespace(prefix: string): () => string {
  let ns = '';
  beforeAll(async () => {
    ns = await namespace(prefix);
    namespaces.push(ns);
  });
  return () => ns;
}

describe('kubectl apply -f of a List', () => {
  const nsOf = ownNamespace('list-apply');

  it('creates a ConfigMap, a Deployment, a Service and an Ingress, and a second apply leaves them unchanged', async () => {
    const path = file('four.json', four());
    const first = await kubectl(['apply', '-n', nsOf(), '-f', path]);
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.stdout.trim().split('\n')).toEqual(CREATED);
    const names = await k(['get', 'configmap/app-config', 'deployment/web', 'service/web', 'ingress/web', '-n', nsOf(), '-o', 'name']);
    expect(names.trim().split('\n')).toEqual(['configmap/app-config', 'deployment.apps/web', 'service/web', 'ingress.networking.k8s.io/web']);
    const again = await k(['apply', '-n', nsOf(), '-f', path]);
    expect(again.trim().split('\n')).toEqual(CREATED.map((l) => l.replace(/created$/, 'unchanged')));
  });

  it('applies a change to a list field (a strategic merge patch with $setElementOrder)', async () => {
    const containers = [
      { name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 80 }] },
      { name: 'cache', image: 'redis' },
    ];
    const changed = list([configMap('app-config'), deployment('web', containers), service('web'), ingress('web')]);
    const out = await k(['apply', '-n', nsOf(), '-f', file('changed.json', changed)]);
    expect(out).toContain('deployment.apps/web configured');
    const d = parseJson<Deployment>(await k(['get', 'deployment/web', '-n', nsOf(), '-o', 'json']));
    expect(d.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['web', 'cache']);
  });

  it('refuses a List with an unknown field in one item, as kubectl validates it, and applies nothing of it', async () => {
    const path = file('typo.json', withUnknownField());
    const r = await kubectl(['apply', '-n', nsOf(), '-f', path]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe(`error: error validating "${path}": ${UNKNOWN}`);
    const cm = await kubectl(['get', 'configmap/typo-config', '-n', nsOf()]);
    expect(cm.stderr).toContain('NotFound');
  });

  it('applies that List with --validate=false', async () => {
    const r = await kubectl(['apply', '-n', nsOf(), '--validate=false', '-f', file('typo.json', withUnknownField())]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['configmap/typo-config created', 'deployment.apps/typo created']);
  });

  it('round-trips kubectl get -o yaml through kubectl apply -f', async () => {
    const yaml = await k(['get', 'cm,svc', '-n', nsOf(), '-o', 'yaml']);
    expect(yaml).toMatch(/^apiVersion: v1\nitems:\n/);
    expect(yaml).toContain('kind: List');
    const r = await kubectl(['apply', '-f', file('got.yaml', yaml)]);
    expect(r.exitCode).toBe(0);
    // The last-applied annotation now holds the object as got (resourceVersion, uid ...): every item is configured, as with kube-apiserver.
    expect(r.stdout.trim().split('\n')).toEqual(
      expect.arrayContaining(['configmap/app-config configured', 'configmap/kube-root-ca.crt configured', 'service/web configured']),
    );
  });
});

describe('kubectl create, replace and delete -f of a List', () => {
  const nsOf = ownNamespace('list-crud');

  it('create makes every item, and a second create finds them all there', async () => {
    const path = file('four.json', four());
    expect((await k(['create', '-n', nsOf(), '-f', path])).trim().split('\n')).toEqual(CREATED);
    const again = await kubectl(['create', '-n', nsOf(), '-f', path]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('Error from server (AlreadyExists): error when creating');
    expect(again.stderr).toContain('deployments.apps "web" already exists');
  });

  it('replace replaces every item', async () => {
    const out = await k(['replace', '-n', nsOf(), '-f', file('four.json', four())]);
    expect(out.trim().split('\n')).toEqual(CREATED.map((l) => l.replace(/created$/, 'replaced')));
  });

  it('create and replace refuse the List with an unknown field, as apply does', async () => {
    const path = file('typo.json', withUnknownField());
    for (const verb of ['create', 'replace']) {
      const r = await kubectl([verb, '-n', nsOf(), '-f', path]);
      expect(r.exitCode, verb).toBe(1);
      expect(r.stderr.trim(), verb).toBe(`error: error validating "${path}": ${UNKNOWN}`);
    }
  });

  it('delete removes every item', async () => {
    const out = await k(['delete', '-n', nsOf(), '-f', file('four.json', four()), '--wait=false']);
    expect(out.trim().split('\n')).toEqual([
      'configmap "app-config" deleted',
      'deployment.apps "web" deleted',
      'service "web" deleted',
      'ingress.networking.k8s.io "web" deleted',
    ]);
  });
});

describe('kubectl explain', () => {
  it('reads OpenAPI v3, and v2 when asked', async () => {
    const v3 = await k(['explain', 'deployment.spec.replicas']);
    expect(v3).toContain('FIELD: replicas <integer>');
    const v2 = await k(['explain', 'ingress.spec.rules', '--output=plaintext-openapiv2']);
    expect(v2).toContain('RESOURCE: rules <[]Object>');
    expect(v2).toContain('http\t<Object>');
  });
});

describe('/openapi/v2 over HTTP', () => {
  const PROTO_SENT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
  const PROTO = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

  it('answers JSON and protobuf by Accept under one ETag, 304 to a conditional GET and 406 to a type it has not', async () => {
    const json = await api<{ swagger: string; definitions: Record<string, { 'x-kubernetes-group-version-kind'?: unknown }> }>('GET', '/openapi/v2');
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json');
    expect(json.body.swagger).toBe('2.0');
    expect(json.body.definitions['io.k8s.api.core.v1.ConfigMap']['x-kubernetes-group-version-kind']).toEqual([{ group: '', kind: 'ConfigMap', version: 'v1' }]);
    const etag = json.headers.etag as string;
    expect(etag).toMatch(/^"[0-9A-F]{128}"$/);
    expect(json.headers.vary).toContain('Accept');

    const proto = await api('GET', '/openapi/v2', undefined, { headers: { Accept: PROTO_SENT } });
    expect([proto.status, proto.headers['content-type'], proto.headers.etag]).toEqual([200, PROTO, etag]);

    const cached = await api('GET', '/openapi/v2', undefined, { headers: { Accept: PROTO_SENT, 'If-None-Match': etag } });
    expect([cached.status, cached.text]).toEqual([304, '']);

    const html = await api('GET', '/openapi/v2', undefined, { headers: { Accept: 'text/html' } });
    expect(html.status).toBe(406);
  });

  it('serves a v3 document under its hash for good, and redirects an old hash to the current one', async () => {
    const index = await api<{ paths: Record<string, { serverRelativeURL: string }> }>('GET', '/openapi/v3');
    const url = index.body.paths['apis/apps/v1'].serverRelativeURL;
    const hash = url.split('hash=')[1];
    const doc = await api('GET', url);
    expect(doc.status).toBe(200);
    expect(doc.headers['cache-control']).toBe('public, immutable');
    expect(doc.headers.etag).toBe(`"${hash}"`);
    const old = await api('GET', '/openapi/v3/apis/apps/v1?hash=0123');
    expect([old.status, old.headers.location]).toEqual([301, url]);
  });
});
