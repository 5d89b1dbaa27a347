/** The v3 → Swagger 2.0 conversion, Accept negotiation of /openapi/v2, and unknown fields of a strategic merge patch. */
import { describe, expect, it } from 'vitest';
import { lookupResource } from '@kemu/api';
import { danglingRefs, operationV2, schemaV2, swaggerOf, type JsonObject } from './swagger.js';
import { acceptClauses, negotiate } from './serve.js';
import { openapiDocuments, unknownFields } from './index.js';

describe('schemaV2', () => {
  it.each<[string, JsonObject, JsonObject]>([
    [
      'an allOf-wrapped $ref becomes a $ref with its description beside it',
      { allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.PodSpec' }], description: 'Spec.', default: {} },
      { $ref: '#/definitions/io.k8s.api.core.v1.PodSpec', description: 'Spec.', default: {} },
    ],
    [
      'an int-or-string refers to the named IntOrString type',
      { 'x-kubernetes-int-or-string': true, description: 'Port.' },
      { $ref: '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString', description: 'Port.' },
    ],
    [
      'an object that keeps unknown fields has no field list',
      { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { a: { type: 'string' } }, required: ['a'] },
      { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    ],
    ['words v2 has not are dropped', { type: 'string', nullable: true, format: 'date-time' }, { type: 'string', format: 'date-time' }],
    [
      'arrays, maps and patch extensions carry over',
      {
        type: 'array',
        items: { allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.Container' }] },
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-patch-merge-key': 'name',
      },
      {
        type: 'array',
        items: { $ref: '#/definitions/io.k8s.api.core.v1.Container' },
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-patch-merge-key': 'name',
      },
    ],
    [
      'group-version-kinds are written group, kind, version',
      { type: 'object', properties: {}, 'x-kubernetes-group-version-kind': [{ group: 'apps', version: 'v1', kind: 'Deployment' }] },
      { type: 'object', properties: {}, 'x-kubernetes-group-version-kind': [{ group: 'apps', kind: 'Deployment', version: 'v1' }] },
    ],
  ])('%s', (_, v3, v2) => {
    expect(schemaV2(v3)).toEqual(v2);
  });
});

describe('operationV2', () => {
  it('makes the request body a body parameter and the media types consumes and produces', () => {
    const ref = { $ref: '#/components/schemas/io.k8s.api.core.v1.ConfigMap' };
    const op = operationV2({
      operationId: 'createCoreV1NamespacedConfigMap',
      requestBody: { content: { '*/*': { schema: ref } }, required: true },
      responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref } } }, '401': { description: 'Unauthorized' } },
      parameters: [{ name: 'dryRun', in: 'query', description: 'Dry run.', schema: { type: 'string', uniqueItems: true } }],
      'x-kubernetes-action': 'post',
      'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind: 'ConfigMap' },
    });
    expect(op).toEqual({
      operationId: 'createCoreV1NamespacedConfigMap',
      'x-kubernetes-action': 'post',
      'x-kubernetes-group-version-kind': { group: '', kind: 'ConfigMap', version: 'v1' },
      consumes: ['*/*'],
      produces: ['application/json'],
      schemes: ['https'],
      parameters: [
        { name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/io.k8s.api.core.v1.ConfigMap' } },
        { name: 'dryRun', in: 'query', description: 'Dry run.', type: 'string', uniqueItems: true },
      ],
      responses: { '200': { description: 'OK', schema: { $ref: '#/definitions/io.k8s.api.core.v1.ConfigMap' } }, '401': { description: 'Unauthorized' } },
    });
  });
});

describe('swaggerOf', () => {
  const doc = swaggerOf(openapiDocuments().map((d) => JSON.parse(d.json) as JsonObject));
  const defs = doc.definitions as Record<string, JsonObject>;
  const paths = doc.paths as Record<string, JsonObject>;

  it('holds every path and schema of every v3 document, names unchanged, sorted as Go prints them', () => {
    for (const d of openapiDocuments()) {
      const v3 = JSON.parse(d.json) as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
      for (const p of Object.keys(v3.paths)) expect(paths[p], p).toBeDefined();
      for (const n of Object.keys(v3.components.schemas)) expect(defs[n], n).toBeDefined();
    }
    expect(Object.keys(defs)).toEqual(Object.keys(defs).sort());
    expect(Object.keys(paths)).toEqual(Object.keys(paths).sort());
    expect(doc.swagger).toBe('2.0');
  });

  it('leaves no $ref to a definition it lacks', () => {
    expect(danglingRefs(doc)).toEqual([]);
    expect(danglingRefs({ definitions: { a: { $ref: '#/definitions/b' } } })).toEqual(['#/definitions/b']);
  });

  it('tags the kinds, old versions under their own names', () => {
    expect(defs['io.k8s.api.core.v1.ConfigMap']['x-kubernetes-group-version-kind']).toEqual([{ group: '', kind: 'ConfigMap', version: 'v1' }]);
    expect(defs['io.k8s.api.extensions.v1beta1.Ingress']['x-kubernetes-group-version-kind']).toEqual([
      { group: 'extensions', kind: 'Ingress', version: 'v1beta1' },
    ]);
    // The old Ingress keeps its old spec fields (serviceName, servicePort): kubectl must not call them unknown.
    const spec = (defs['io.k8s.api.extensions.v1beta1.Ingress'].properties as Record<string, JsonObject>).spec;
    expect(spec.properties).toBeUndefined();
    const patch = paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch as JsonObject;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', kind: 'Deployment', version: 'v1' });
  });
});

describe('Accept negotiation', () => {
  const offers = [
    'application/json',
    'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
    'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
  ] as const;
  it.each<[string | undefined, string | undefined]>([
    ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', offers[1]],
    ['application/com.github.proto-openapi.spec.v2.v1.0+protobuf', offers[2]],
    ['application/json', offers[0]],
    [undefined, offers[0]],
    ['*/*', offers[0]],
    ['application/*', offers[0]],
    ['application/json;q=0.5, application/com.github.proto-openapi.spec.v2.v1.0+protobuf', offers[2]],
    ['*/*;q=0.1, application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.9', offers[1]],
    ['text/plain', undefined],
    ['application/yaml, application/vnd.kubernetes.protobuf', undefined],
    ['application/json;q=0', undefined],
  ])('%s → %s', (accept, want) => {
    expect(negotiate(accept, offers)).toBe(want);
  });

  it('tries concrete types before wildcards of the same q', () => {
    expect(acceptClauses('*/*, text/*, text/html').map((c) => `${c.type}/${c.subtype}`)).toEqual(['text/html', 'text/*', '*/*']);
  });
});

describe('unknownFields', () => {
  it("skips a strategic merge patch's directives", () => {
    const info = lookupResource('apps', 'v1', 'deployments')!;
    const patch = {
      spec: {
        template: {
          spec: { '$setElementOrder/containers': [{ name: 'a' }], containers: [{ name: 'a', $patch: 'delete', bogus: 1 }] },
        },
      },
      $retainKeys: [],
    };
    expect(unknownFields(info, patch)).toEqual(['spec.template.spec.containers[0].bogus']);
  });
});
