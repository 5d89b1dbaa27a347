/**
 * OpenAPI v2 (Swagger 2.0), the document kube-apiserver serves at
 * /openapi/v2: every group/version in one document, converted from our v3
 * documents so both describe the same API. Definitions keep the v3 component
 * names (`#/definitions/io.k8s.api.core.v1.ConfigMap`), paths and operations
 * keep their x-kubernetes-* extensions. kubectl reads it to validate a
 * `kind: List` on the client: a List has no endpoint of its own, so the server
 * cannot check its items. Pure: JSON in, JSON out.
 */

export type Json = string | number | boolean | null | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

const REF_V3 = '#/components/schemas/';
const REF_V2 = '#/definitions/';
const GVK = 'x-kubernetes-group-version-kind';

// Kubernetes' v2 document names the int-or-string type and refers to it; our v3 schemas carry it inline.
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const INT_OR_STRING_SCHEMA: JsonObject = {
  description:
    'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
  format: 'int-or-string',
  type: 'string',
};

// Words of OpenAPI 3.0 schemas that Swagger 2.0 has not: dropped (the v2 document never had them).
const V3_ONLY = new Set(['nullable', 'oneOf', 'anyOf', 'not', 'writeOnly', 'deprecated']);

export const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const sorted = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** A group-version-kind with its keys in the order Kubernetes prints them (Go sorts a map's keys). */
function gvk(v: Json): Json {
  return isObject(v) ? { group: v.group, kind: v.kind, version: v.version } : v;
}

/** One v3 schema as Swagger 2.0 writes it. */
export function schemaV2(s: JsonObject): JsonObject {
  // v3 wraps a $ref in allOf so that a description may stand beside it; v2 lets them stand together.
  const only = Array.isArray(s.allOf) && s.allOf.length === 1 && isObject(s.allOf[0]) ? s.allOf[0] : undefined;
  if (only && typeof only.$ref === 'string' && Object.keys(only).length === 1) {
    const rest = Object.fromEntries(Object.entries(s).filter(([k]) => !['allOf', 'type', 'properties'].includes(k)));
    return schemaV2({ $ref: only.$ref, ...rest });
  }
  if (s['x-kubernetes-int-or-string'] === true) {
    const rest = Object.fromEntries(Object.entries(s).filter(([k]) => !['x-kubernetes-int-or-string', 'type', 'anyOf'].includes(k)));
    return { $ref: REF_V2 + INT_OR_STRING, ...rest };
  }
  // An object that keeps unknown fields has no field list kubectl could check against: a free-form map.
  const open = s['x-kubernetes-preserve-unknown-fields'] === true;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s)) {
    if (V3_ONLY.has(k)) continue;
    if (open && (k === 'properties' || k === 'required' || k === 'additionalProperties')) continue;
    if (k === '$ref' && typeof v === 'string') out.$ref = v.startsWith(REF_V3) ? REF_V2 + v.slice(REF_V3.length) : v;
    else if (k === 'properties' && isObject(v)) out.properties = Object.fromEntries(Object.entries(v).map(([n, p]) => [n, isObject(p) ? schemaV2(p) : p]));
    else if ((k === 'items' || k === 'additionalProperties') && isObject(v)) out[k] = schemaV2(v);
    else if (k === 'allOf' && Array.isArray(v)) out.allOf = v.map((x) => (isObject(x) ? schemaV2(x) : x));
    else if (k === GVK && Array.isArray(v)) out[k] = v.map(gvk);
    else out[k] = v;
  }
  if (open && out.type === undefined) out.type = 'object';
  return out;
}

/** A v3 parameter (its type in `schema`) as a v2 one (the type beside the name). */
function parameterV2(p: JsonObject): JsonObject {
  const { schema, ...rest } = p;
  return { ...rest, ...(isObject(schema) ? schemaV2(schema) : {}) };
}

const contentTypes = (content: Json | undefined): string[] => (isObject(content) ? Object.keys(content) : []);

function firstSchema(content: Json | undefined): JsonObject | undefined {
  if (!isObject(content)) return undefined;
  const first = Object.values(content)[0];
  return isObject(first) && isObject(first.schema) ? first.schema : undefined;
}

/** A v3 operation as v2 writes it: the request body a `body` parameter, media types in consumes/produces. */
export function operationV2(op: JsonObject): JsonObject {
  const { requestBody, responses, parameters, ...rest } = op;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(rest)) out[k] = k === GVK ? gvk(v) : v;
  const body = isObject(requestBody) ? firstSchema(requestBody.content) : undefined;
  if (isObject(requestBody)) out.consumes = contentTypes(requestBody.content);
  const produces = new Set<string>();
  const answers: JsonObject = {};
  for (const [code, r] of Object.entries(isObject(responses) ? responses : {})) {
    if (!isObject(r)) continue;
    contentTypes(r.content).forEach((t) => produces.add(t));
    const schema = firstSchema(r.content);
    answers[code] = { description: r.description ?? '', ...(schema ? { schema: schemaV2(schema) } : {}) };
  }
  if (produces.size) out.produces = [...produces];
  out.schemes = ['https'];
  out.parameters = [
    ...(body ? [{ name: 'body', in: 'body', required: true, schema: schemaV2(body) }] : []),
    ...(Array.isArray(parameters) ? parameters.filter(isObject).map(parameterV2) : []),
  ];
  out.responses = answers;
  return out;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

function pathItemV2(item: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(item)) {
    if (METHODS.includes(k) && isObject(v)) out[k] = operationV2(v);
    else if (k === 'parameters' && Array.isArray(v)) out.parameters = v.filter(isObject).map(parameterV2);
    else out[k] = v;
  }
  return out;
}

/** Both schemas of one name (each v3 document holds the ones its kinds reach) with the kinds either names. */
function merge(a: JsonObject, b: JsonObject): JsonObject {
  const kinds = [...(Array.isArray(a[GVK]) ? a[GVK] : []), ...(Array.isArray(b[GVK]) ? b[GVK] : [])];
  if (!kinds.length) return a;
  const unique = [...new Map(kinds.map((k) => [JSON.stringify(k), k])).values()];
  return { ...a, [GVK]: unique };
}

/** Every `$ref` in `v` that names no definition: kubectl refuses a whole document for one of them. */
export function danglingRefs(doc: JsonObject): string[] {
  const defs = isObject(doc.definitions) ? doc.definitions : {};
  const out = new Set<string>();
  const walk = (v: Json) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObject(v)) {
      if (typeof v.$ref === 'string' && !(v.$ref.startsWith(REF_V2) && v.$ref.slice(REF_V2.length) in defs)) out.add(v.$ref);
      Object.values(v).forEach(walk);
    }
  };
  walk(doc);
  return [...out];
}

/** The Swagger 2.0 document of these v3 documents (one per group/version). */
export function swaggerOf(v3: JsonObject[]): JsonObject {
  const paths: JsonObject = {};
  const definitions: Record<string, JsonObject> = {};
  for (const doc of v3) {
    for (const [p, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) if (isObject(item)) paths[p] = pathItemV2(item);
    const schemas = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
    for (const [name, s] of Object.entries(schemas)) {
      if (!isObject(s)) continue;
      const v2 = schemaV2(s);
      definitions[name] = definitions[name] ? merge(definitions[name], v2) : v2;
    }
  }
  if (JSON.stringify([paths, definitions]).includes(`"${REF_V2}${INT_OR_STRING}"`)) definitions[INT_OR_STRING] ??= INT_OR_STRING_SCHEMA;
  const info = isObject(v3[0]?.info) ? v3[0].info : { title: 'Kubernetes', version: 'v1.32.0' };
  return {
    swagger: '2.0',
    info,
    paths: sorted(paths),
    definitions: sorted(definitions),
    securityDefinitions: { BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' } },
    security: [{ BearerToken: [] }],
  };
}
