/**
 * OpenAPI v3: the index at /openapi/v3 and one document per group/version,
 * with every resource's paths (PATCH carries `fieldValidation`, so kubectl
 * leaves validation to the server) and the schemas of its kinds (for
 * `kubectl explain`). The schemas also drive strict field validation: which
 * fields of a request body are unknown.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { groups, resourcesOf, groupVersion, storageInfo, type ResourceInfo } from '@kemu/api';
import { findUp } from '@kemu/client';

/** The parts of an OpenAPI v3 schema this module reads; the rest is passed through as it is. */
interface Schema {
  $ref?: string;
  allOf?: Schema[];
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  [field: string]: unknown;
}

// From dist/openapi/ (tsc's output) or dist/ (the bundle the compose file runs): see findUp.
const DEFINITIONS = findUp(import.meta.dirname, 'src/openapi/definitions.json');
if (!DEFINITIONS) throw new Error(`src/openapi/definitions.json not found above ${import.meta.dirname}`);
const defs = JSON.parse(readFileSync(DEFINITIONS, 'utf8')) as {
  roots: Record<string, string>;
  schemas: Record<string, Schema>;
};

const REF = '#/components/schemas/';

function refName(s: Schema | undefined): string | undefined {
  const ref = s?.$ref ?? s?.allOf?.[0]?.$ref;
  return typeof ref === 'string' ? ref.slice(REF.length) : undefined;
}

/** The schema name that describes `kind` at group/version; deprecated versions borrow the storage version's. */
export function rootSchemaName(info: { group: string; version: string; kind: string }): string | undefined {
  return defs.roots[`${info.group}/${info.version}/${info.kind}`];
}

function storageRoot(info: ResourceInfo): string | undefined {
  return rootSchemaName(info) ?? (info.deprecated ? rootSchemaName(storageInfo(info)) : undefined);
}

function reachable(names: string[]): Set<string> {
  const seen = new Set<string>();
  const walk = (s: Schema | undefined) => {
    if (!s || typeof s !== 'object') return;
    const n = refName(s);
    if (n && !seen.has(n)) {
      seen.add(n);
      walk(defs.schemas[n]);
    }
    for (const v of Object.values(s.properties ?? {})) walk(v);
    walk(s.items);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties);
  };
  for (const n of names) walk({ $ref: REF + n });
  return seen;
}

function basePath(info: ResourceInfo): string {
  return info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
}

const PARAM = (name: string, description: string, inWhere = 'query', required = false) => ({
  name,
  in: inWhere,
  description,
  ...(required ? { required: true } : {}),
  schema: { type: 'string', uniqueItems: true },
});

function paths(info: ResourceInfo, schemaName: string | undefined): Record<string, Schema> {
  const gvk = { group: info.group, version: info.version, kind: info.kind };
  const ref = schemaName ? { $ref: REF + schemaName } : { type: 'object' };
  const body = { content: { '*/*': { schema: ref } }, required: true };
  const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } }, '401': { description: 'Unauthorized' } };
  const ext = (action: string) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk });
  const nsParam = info.namespaced ? [PARAM('namespace', 'object name and auth scope, such as for teams and projects', 'path', true)] : [];
  const collection = `${basePath(info)}${info.namespaced ? '/namespaces/{namespace}' : ''}/${info.resource}`;
  const out: Record<string, Schema> = {};
  const id = (verb: string) =>
    `${verb}${info.group.split('.')[0].replace(/^./, (c) => c.toUpperCase())}${info.version}${info.namespaced ? 'Namespaced' : ''}${info.kind}`;
  const mutating = [
    PARAM('dryRun', 'When present, indicates that modifications should not be persisted.'),
    PARAM('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
    PARAM(
      'fieldValidation',
      'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.',
    ),
  ];
  out[collection] = {
    parameters: nsParam,
    get: {
      operationId: id('list'),
      responses: ok,
      ...ext('list'),
      parameters: [
        PARAM('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
        PARAM('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
        PARAM('limit', 'limit is a maximum number of responses to return for a list call.'),
        PARAM('continue', 'The continue option should be set when retrieving more results from the server.'),
        PARAM('watch', 'Watch for changes to the described resources.'),
        PARAM('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
      ],
    },
    ...(info.verbs.includes('create')
      ? { post: { operationId: id('create'), requestBody: body, responses: { ...ok, '201': ok['200'] }, ...ext('post'), parameters: mutating } }
      : {}),
    ...(info.verbs.includes('deletecollection') ? { delete: { operationId: id('deletecollection'), responses: ok, ...ext('deletecollection') } } : {}),
  };
  if (info.resource === 'bindings') return out;
  out[`${collection}/{name}`] = {
    parameters: [PARAM('name', `name of the ${info.kind}`, 'path', true), ...nsParam],
    get: { operationId: id('read'), responses: ok, ...ext('get') },
    put: { operationId: id('replace'), requestBody: body, responses: ok, ...ext('put'), parameters: mutating },
    patch: {
      operationId: id('patch'),
      requestBody: {
        content: Object.fromEntries(
          ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'].map((t) => [
            t,
            { schema: { type: 'object' } },
          ]),
        ),
        required: true,
      },
      responses: ok,
      ...ext('patch'),
      parameters: [...mutating, PARAM('force', 'Force is going to "force" Apply requests.')],
    },
    delete: {
      operationId: id('delete'),
      responses: ok,
      ...ext('delete'),
      parameters: [
        PARAM('gracePeriodSeconds', 'The duration in seconds before the object should be deleted.'),
        PARAM('propagationPolicy', 'Whether and how garbage collection will be performed.'),
        PARAM('dryRun', 'When present, indicates that modifications should not be persisted.'),
      ],
    },
  };
  for (const sub of info.subresources) {
    if (sub !== 'status' && sub !== 'scale') continue;
    const subRef = sub === 'scale' ? { $ref: REF + defs.roots['autoscaling/v1/Scale'] } : ref;
    const subOk = { '200': { description: 'OK', content: { 'application/json': { schema: subRef } } } };
    const subGvk = sub === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : gvk;
    out[`${collection}/{name}/${sub}`] = {
      parameters: [PARAM('name', `name of the ${sub === 'scale' ? 'Scale' : info.kind}`, 'path', true), ...nsParam],
      get: { operationId: id(`read${sub}`), responses: subOk, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': subGvk },
      put: {
        operationId: id(`replace${sub}`),
        requestBody: { content: { '*/*': { schema: subRef } } },
        responses: subOk,
        'x-kubernetes-action': 'put',
        'x-kubernetes-group-version-kind': subGvk,
        parameters: mutating,
      },
      patch: {
        operationId: id(`patch${sub}`),
        responses: subOk,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': subGvk,
        parameters: mutating,
      },
    };
  }
  return out;
}

/** One v3 document: its JSON text, its hash (the ETag and the `?hash=` of its URL) and when it was built. */
export interface Doc {
  json: string;
  hash: string;
  built: Date;
}
const docs = new Map<string, Doc>();

function buildDoc(group: string, version: string): Doc | undefined {
  const list = resourcesOf(group, version);
  if (!list.length) return undefined;
  const allPaths: Record<string, Schema> = {};
  const roots: string[] = [];
  const overrides: Record<string, Schema> = {};
  for (const info of list) {
    let name = storageRoot(info);
    if (name && info.deprecated) {
      // An old version: the storage version's schema, named and tagged for this version, open to its old fields.
      const base = defs.schemas[name];
      // Named as Kubernetes named it (io.k8s.api.extensions.v1beta1.Ingress), in the old version's package.
      const alias = `io.k8s.api.${info.group.split('.')[0]}.${info.version}.${info.kind}`;
      const spec = base.properties?.spec;
      const specSchema = { ...(defs.schemas[refName(spec) ?? ''] ?? {}), description: spec?.description, 'x-kubernetes-preserve-unknown-fields': true };
      overrides[alias] = {
        ...base,
        properties: { ...base.properties, spec: specSchema },
        'x-kubernetes-group-version-kind': [{ group: info.group, version: info.version, kind: info.kind }],
      };
      roots.push(name);
      name = alias;
    } else if (name) roots.push(name);
    Object.assign(allPaths, paths(info, name));
  }
  const schemas: Record<string, Schema> = {};
  for (const n of reachable(roots)) schemas[n] = defs.schemas[n];
  for (const info of list) {
    const n = rootSchemaName(info);
    if (n && !info.deprecated) {
      const kinds = Object.entries(defs.roots)
        .filter(([, v]) => v === n)
        .map(([k]) => {
          const [g, v, kind] = k.split('/');
          return { group: g, version: v, kind };
        });
      schemas[n] = { ...schemas[n], 'x-kubernetes-group-version-kind': kinds };
    }
  }
  if (group === 'apps' || list.some((i) => i.subresources.includes('scale'))) {
    for (const n of reachable([defs.roots['autoscaling/v1/Scale']])) schemas[n] = { ...defs.schemas[n] };
  }
  Object.assign(schemas, overrides);
  const doc = { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths: allPaths, components: { schemas } };
  const json = JSON.stringify(doc);
  return { json, hash: createHash('sha512').update(json).digest('hex').slice(0, 128).toUpperCase(), built: new Date() };
}

function doc(group: string, version: string): Doc | undefined {
  const k = `${group}/${version}`;
  if (!docs.has(k)) {
    const d = buildDoc(group, version);
    if (!d) return undefined;
    docs.set(k, d);
  }
  return docs.get(k);
}

/** The /openapi/v3 index. */
export function openapiIndex(): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of groups()) {
    for (const v of g.versions) {
      const p = g.name ? `apis/${g.name}/${v}` : `api/${v}`;
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${doc(g.name, v)!.hash}` };
    }
  }
  return { paths };
}

/** The document for `api/v1` or `apis/<group>/<version>`. */
export function openapiDocument(path: string): Doc | undefined {
  const m = path.match(/^api\/(v1)$/) ?? path.match(/^apis\/([^/]+)\/([^/]+)$/);
  if (!m) return undefined;
  return m.length === 2 ? doc('', m[1]) : doc(m[1], m[2]);
}

/** Every group/version's document, in discovery order: what /openapi/v2 is made of. */
export function openapiDocuments(): Doc[] {
  return groups().flatMap((g) => g.versions.map((v) => doc(g.name, v)!));
}

/** Unknown fields of `obj` for the kind served at `info` (paths as Kubernetes prints them). */
export function unknownFields(info: ResourceInfo, obj: unknown): string[] {
  if (info.deprecated) return [];
  const name = rootSchemaName(info) ?? (info.group === '' && info.kind === 'Binding' ? rootSchemaName(info) : undefined);
  if (!name) return [];
  const out: string[] = [];
  const walk = (s: Schema | undefined, v: unknown, path: string) => {
    if (!s || v === null || v === undefined || out.length > 50) return;
    const n = refName(s);
    if (n) return walk(defs.schemas[n], v, path);
    if (s['x-kubernetes-preserve-unknown-fields'] || s['x-kubernetes-int-or-string']) return;
    if (Array.isArray(v)) {
      if (s.type === 'array') v.forEach((x, i) => walk(s.items, x, `${path}[${i}]`));
      return;
    }
    if (typeof v !== 'object') return;
    if (s.properties) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        // A strategic merge patch's directives ($setElementOrder/containers, $patch, $retainKeys): Kubernetes checks
        // the patched object, which has none of them, and none of its fields begins with `$`.
        if (k.startsWith('$')) continue;
        const p = path ? `${path}.${k}` : k;
        if (!(k in s.properties)) out.push(p);
        else walk(s.properties[k], x, p);
      }
    } else if (typeof s.additionalProperties === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(s.additionalProperties, x, `${path}[${k}]`);
    }
  };
  walk(defs.schemas[name], obj, '');
  return out;
}

export { groupVersion };
