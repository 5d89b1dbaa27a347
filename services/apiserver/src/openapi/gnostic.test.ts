/**
 * The gnostic protobuf form of /openapi/v2, decoded back with a reader that
 * knows OpenAPIv2.proto's field numbers (and fails on any other), checked
 * against the JSON form and for what kubectl reads: definitions with their
 * group-version-kinds, field lists and $refs (client-side validation of a
 * List's items), and the PATCH operations' group-version-kind and
 * fieldValidation parameter (whether the server validates a kind).
 */
import { describe, expect, it } from 'vitest';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { parse } from 'yaml';
import { encodeDocument } from './gnostic.js';
import { openapiV2Document } from './serve.js';
import { isObject, type Json, type JsonObject } from './swagger.js';

/** A scalar (string, bool, double, int64) or the name of a message. */
type Kind = string;
type Field = [name: string, kind: Kind, repeated?: true];
const R = true as const;

// The messages of github.com/google/gnostic-models openapiv2/OpenAPIv2.proto that the encoder writes.
const PROTO: Record<string, Record<number, Field>> = {
  Document: {
    1: ['swagger', 's'],
    2: ['info', 'Info'],
    8: ['paths', 'Paths'],
    9: ['definitions', 'Definitions'],
    12: ['security', 'SecurityRequirement', R],
    13: ['securityDefinitions', 'SecurityDefinitions'],
  },
  Info: { 1: ['title', 's'], 2: ['version', 's'] },
  Paths: { 1: ['vendorExtension', 'NamedAny', R], 2: ['path', 'NamedPathItem', R] },
  NamedPathItem: { 1: ['name', 's'], 2: ['value', 'PathItem'] },
  PathItem: {
    2: ['get', 'Operation'],
    3: ['put', 'Operation'],
    4: ['post', 'Operation'],
    5: ['delete', 'Operation'],
    8: ['patch', 'Operation'],
    9: ['parameters', 'ParametersItem', R],
    10: ['vendorExtension', 'NamedAny', R],
  },
  Operation: {
    5: ['operationId', 's'],
    6: ['produces', 's', R],
    7: ['consumes', 's', R],
    8: ['parameters', 'ParametersItem', R],
    9: ['responses', 'Responses'],
    10: ['schemes', 's', R],
    13: ['vendorExtension', 'NamedAny', R],
  },
  ParametersItem: { 1: ['parameter', 'Parameter'], 2: ['jsonReference', 'JsonReference'] },
  JsonReference: { 1: ['_ref', 's'], 2: ['description', 's'] },
  Parameter: { 1: ['bodyParameter', 'BodyParameter'], 2: ['nonBodyParameter', 'NonBodyParameter'] },
  BodyParameter: { 1: ['description', 's'], 2: ['name', 's'], 3: ['in', 's'], 4: ['required', 'b'], 5: ['schema', 'Schema'] },
  NonBodyParameter: { 3: ['queryParameterSubSchema', 'QueryParameterSubSchema'], 4: ['pathParameterSubSchema', 'PathParameterSubSchema'] },
  QueryParameterSubSchema: { 1: ['required', 'b'], 2: ['in', 's'], 3: ['description', 's'], 4: ['name', 's'], 6: ['type', 's'], 20: ['uniqueItems', 'b'] },
  PathParameterSubSchema: { 1: ['required', 'b'], 2: ['in', 's'], 3: ['description', 's'], 4: ['name', 's'], 5: ['type', 's'], 19: ['uniqueItems', 'b'] },
  Responses: { 1: ['responseCode', 'NamedResponseValue', R] },
  NamedResponseValue: { 1: ['name', 's'], 2: ['value', 'ResponseValue'] },
  ResponseValue: { 1: ['response', 'Response'] },
  Response: { 1: ['description', 's'], 2: ['schema', 'SchemaItem'] },
  SchemaItem: { 1: ['schema', 'Schema'] },
  Definitions: { 1: ['additionalProperties', 'NamedSchema', R] },
  NamedSchema: { 1: ['name', 's'], 2: ['value', 'Schema'] },
  Schema: {
    1: ['_ref', 's'],
    2: ['format', 's'],
    4: ['description', 's'],
    5: ['default', 'Any'],
    11: ['maxLength', 'i'],
    19: ['required', 's', R],
    20: ['enum', 'Any', R],
    21: ['additionalProperties', 'AdditionalPropertiesItem'],
    22: ['type', 'TypeItem'],
    23: ['items', 'ItemsItem'],
    24: ['allOf', 'Schema', R],
    25: ['properties', 'Properties'],
    31: ['vendorExtension', 'NamedAny', R],
  },
  AdditionalPropertiesItem: { 1: ['schema', 'Schema'], 2: ['boolean', 'b'] },
  TypeItem: { 1: ['value', 's', R] },
  ItemsItem: { 1: ['schema', 'Schema', R] },
  Properties: { 1: ['additionalProperties', 'NamedSchema', R] },
  NamedAny: { 1: ['name', 's'], 2: ['value', 'Any'] },
  Any: { 2: ['yaml', 's'] },
  SecurityRequirement: { 1: ['additionalProperties', 'NamedStringArray', R] },
  NamedStringArray: { 1: ['name', 's'], 2: ['value', 'StringArray'] },
  StringArray: { 1: ['value', 's', R] },
  SecurityDefinitions: { 1: ['additionalProperties', 'NamedSecurityDefinitionsItem', R] },
  NamedSecurityDefinitionsItem: { 1: ['name', 's'], 2: ['value', 'SecurityDefinitionsItem'] },
  SecurityDefinitionsItem: { 2: ['apiKeySecurity', 'ApiKeySecurity'] },
  ApiKeySecurity: { 1: ['type', 's'], 2: ['name', 's'], 3: ['in', 's'], 4: ['description', 's'] },
};

/** Decode one message; a field number the .proto does not give this message fails the test. */
function decode(type: string, bytes: Uint8Array): JsonObject {
  const fields = PROTO[type];
  const out: JsonObject = {};
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [num, wire] = r.tag();
    const f = fields[num];
    if (!f) throw new Error(`${type}: field ${num} (wire type ${wire}) is not in OpenAPIv2.proto's ${type}`);
    const [name, kind, repeated] = f;
    let v: Json;
    if (kind === 's') v = r.string();
    else if (kind === 'b') v = r.bool();
    else if (kind === 'd') v = r.double();
    else if (kind === 'i') v = Number(r.int64());
    else v = decode(kind, r.bytes());
    if (repeated) out[name] = [...(Array.isArray(out[name]) ? out[name] : []), v];
    else out[name] = v;
  }
  return out;
}

const obj = (v: Json | undefined): JsonObject => (isObject(v) ? v : {});
const list = (v: Json | undefined): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);
const ext = (m: JsonObject): Record<string, unknown> =>
  Object.fromEntries(list(m.vendorExtension).map((na) => [na.name as string, parse(obj(na.value).yaml as string) as unknown]));

/** A decoded Schema message back in Swagger's JSON words (what gnostic's ParseDocument read). */
function schemaJson(m: JsonObject): JsonObject {
  const out: JsonObject = {};
  if (m._ref) out.$ref = m._ref;
  if (m.format) out.format = m.format;
  if (m.description) out.description = m.description;
  if (m.default) out.default = parse(obj(m.default).yaml as string) as Json;
  if (m.required) out.required = m.required;
  if (m.enum) out.enum = list(m.enum).map((a) => parse(a.yaml as string) as Json);
  const ap = obj(m.additionalProperties);
  if (ap.schema) out.additionalProperties = schemaJson(obj(ap.schema));
  else if ('boolean' in ap || m.additionalProperties) out.additionalProperties = ap.boolean ?? false;
  const types = obj(m.type).value;
  if (Array.isArray(types)) out.type = types.length === 1 ? types[0] : types;
  const items = list(obj(m.items).schema);
  if (items.length === 1) out.items = schemaJson(items[0]);
  if (m.allOf) out.allOf = list(m.allOf).map(schemaJson);
  if (m.properties)
    out.properties = Object.fromEntries(list(obj(m.properties).additionalProperties).map((ns) => [ns.name as string, schemaJson(obj(ns.value))]));
  Object.assign(out, ext(m));
  return out;
}

/** Sort every object's keys, so that two documents compare by content. */
const canonical = (v: Json): Json =>
  Array.isArray(v)
    ? v.map(canonical)
    : isObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical(v[k])]),
        )
      : v;

const text = (v: Json | undefined): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** What kube-openapi's proto.NewOpenAPIData refuses, for one schema (it refuses the whole document for one). */
function kubectlRefuses(s: JsonObject, names: Set<string>, path: string): string[] {
  const errs: string[] = [];
  const types = obj(s.type).value;
  const t = (Array.isArray(types) ? types : []).map(text);
  if (s._ref) {
    if (s.properties) errs.push(`${path}: unallowed embedded type definition`);
    if (t.length) errs.push(`${path}: definition reference can't have a type`);
    const ref = text(s._ref);
    if (!ref.startsWith('#/definitions/') || !names.has(ref.slice('#/definitions/'.length))) errs.push(`${path}: unknown model in reference ${ref}`);
    return errs;
  }
  if (t.length > 1) errs.push(`${path}: definitions with multiple types aren't supported`);
  if (t[0] === 'array' && list(obj(s.items).schema).length !== 1) errs.push(`${path}: array should have exactly one sub-item`);
  if (t.length === 1 && !['object', 'array', 'string', 'number', 'integer', 'boolean'].includes(t[0])) errs.push(`${path}: Unknown primitive type ${t[0]}`);
  for (const ns of list(obj(s.properties).additionalProperties)) errs.push(...kubectlRefuses(obj(ns.value), names, `${path}.${text(ns.name)}`));
  for (const it of list(obj(s.items).schema)) errs.push(...kubectlRefuses(it, names, path));
  if (obj(s.additionalProperties).schema) errs.push(...kubectlRefuses(obj(obj(s.additionalProperties).schema), names, path));
  return errs;
}

describe('/openapi/v2 as gnostic protobuf', () => {
  const { json, protobuf } = openapiV2Document();
  const swagger = JSON.parse(json.toString()) as JsonObject;
  const doc = decode('Document', protobuf);
  const definitions = list(obj(doc.definitions).additionalProperties);
  const defByName = new Map(definitions.map((ns) => [ns.name as string, obj(ns.value)]));
  const paths = new Map(list(obj(doc.paths).path).map((p) => [p.name as string, obj(p.value)]));

  it('holds the JSON document: swagger, info, every path and every definition, in the same order', () => {
    expect(doc.swagger).toBe('2.0');
    expect(doc.info).toEqual(swagger.info);
    expect([...paths.keys()]).toEqual(Object.keys(obj(swagger.paths)));
    expect(definitions.map((d) => d.name)).toEqual(Object.keys(obj(swagger.definitions)));
    expect(definitions.length).toBeGreaterThan(200);
  });

  it('decodes to each definition of the JSON document, extensions included', () => {
    for (const [name, s] of defByName) expect(canonical(schemaJson(s)), name).toEqual(canonical(obj(swagger.definitions)[name]));
  });

  it('parses as kubectl parses it: every $ref names a definition, with no type or fields beside it', () => {
    const names = new Set(defByName.keys());
    const errs = [...defByName].flatMap(([name, s]) => kubectlRefuses(s, names, name));
    expect(errs).toEqual([]);
  });

  it('tags the kinds with their group-version-kind as YAML lists of group, kind, version', () => {
    const cm = defByName.get('io.k8s.api.core.v1.ConfigMap')!;
    const gvk = list(cm.vendorExtension).find((e) => e.name === 'x-kubernetes-group-version-kind')!;
    expect(obj(gvk.value).yaml).toBe('- group: ""\n  kind: ConfigMap\n  version: v1\n');
    expect(ext(defByName.get('io.k8s.api.apps.v1.Deployment')!)['x-kubernetes-group-version-kind']).toEqual([
      { group: 'apps', kind: 'Deployment', version: 'v1' },
    ]);
    expect(ext(defByName.get('io.k8s.api.networking.v1.Ingress')!)['x-kubernetes-group-version-kind']).toEqual([
      { group: 'networking.k8s.io', kind: 'Ingress', version: 'v1' },
    ]);
  });

  it('gives the fields kubectl checks an item against', () => {
    const spec = defByName.get('io.k8s.api.apps.v1.DeploymentSpec')!;
    const fields = new Map(list(obj(spec.properties).additionalProperties).map((ns) => [ns.name as string, obj(ns.value)]));
    expect([...fields.keys()]).toEqual(expect.arrayContaining(['replicas', 'selector', 'template', 'strategy']));
    expect(spec.required).toEqual(['selector', 'template']);
    expect(obj(fields.get('replicas')!.type).value).toEqual(['integer']);
    expect(fields.get('template')!._ref).toBe('#/definitions/io.k8s.api.core.v1.PodTemplateSpec');
    expect(fields.get('template')!.type).toBeUndefined();
    const cm = new Map(
      list(obj(defByName.get('io.k8s.api.core.v1.ConfigMap')!.properties).additionalProperties).map((ns) => [ns.name as string, obj(ns.value)]),
    );
    expect(obj(obj(obj(cm.get('data')!.additionalProperties).schema).type).value).toEqual(['string']);
    // int-or-string fields refer to the named type, a string kubectl takes numbers for.
    const rolling = list(obj(defByName.get('io.k8s.api.apps.v1.RollingUpdateDeployment')!.properties).additionalProperties);
    expect(obj(rolling.find((ns) => ns.name === 'maxSurge')!.value)._ref).toBe('#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    const ios = defByName.get('io.k8s.apimachinery.pkg.util.intstr.IntOrString')!;
    expect([obj(ios.type).value, ios.format]).toEqual([['string'], 'int-or-string']);
  });

  it("marks each kind's PATCH with its group-version-kind and the fieldValidation parameter", () => {
    const item = paths.get('/apis/apps/v1/namespaces/{namespace}/deployments/{name}')!;
    const patch = obj(item.patch);
    expect(ext(patch)).toEqual({ 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': { group: 'apps', kind: 'Deployment', version: 'v1' } });
    const query = list(patch.parameters).map((p) => obj(obj(obj(p.parameter).nonBodyParameter).queryParameterSubSchema).name);
    expect(query).toContain('fieldValidation');
    expect(patch.consumes).toContain('application/strategic-merge-patch+json');
    const body = obj(obj(list(patch.parameters)[0].parameter).bodyParameter);
    expect([body.name, body.in, body.required]).toEqual(['body', 'body', true]);
    const pathParams = list(item.parameters).map((p) => obj(obj(obj(p.parameter).nonBodyParameter).pathParameterSubSchema));
    expect(pathParams.map((p) => [p.name, p.in, p.required, p.type])).toEqual([
      ['name', 'path', true, 'string'],
      ['namespace', 'path', true, 'string'],
    ]);
    const ok = list(obj(obj(item.get).responses).responseCode).find((r) => r.name === '200')!;
    expect(obj(obj(obj(obj(ok.value).response).schema).schema)._ref).toBe('#/definitions/io.k8s.api.apps.v1.Deployment');
  });

  it('declares the bearer token security', () => {
    expect(doc.security).toEqual([{ additionalProperties: [{ name: 'BearerToken', value: {} }] }]);
    const item = list(obj(doc.securityDefinitions).additionalProperties)[0];
    expect(item.name).toBe('BearerToken');
    expect(obj(obj(item.value).apiKeySecurity)).toEqual({ type: 'apiKey', name: 'authorization', in: 'header', description: 'Bearer Token authentication' });
  });
});

describe('encodeDocument', () => {
  it('writes oneof members and empty messages, and leaves proto3 zero values out', () => {
    const bytes = encodeDocument({
      swagger: '2.0',
      definitions: {
        closed: { type: 'object', additionalProperties: false, properties: {} },
        empty: {},
        enum: { type: 'string', enum: ['a', 'yes'], default: 'a', description: '' },
      },
    });
    const defs = list(obj(decode('Document', bytes).definitions).additionalProperties);
    expect(defs.map((d) => d.name)).toEqual(['closed', 'empty', 'enum']);
    expect(defs[0].value).toEqual({ additionalProperties: { boolean: false }, type: { value: ['object'] }, properties: {} });
    expect(defs[1].value).toEqual({});
    // gnostic keeps enum values and defaults as YAML; YAML 1.1 words are quoted so Go reads them back as strings.
    expect(defs[2].value).toEqual({ default: { yaml: 'a\n' }, enum: [{ yaml: 'a\n' }, { yaml: '"yes"\n' }], type: { value: ['string'] } });
  });
});
