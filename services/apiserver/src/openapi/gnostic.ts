/**
 * A Swagger 2.0 document in the protobuf form of gnostic's OpenAPIv2.proto
 * (package openapi.v2, github.com/google/gnostic-models), which kube-apiserver
 * serves as `application/com.github.proto-openapi.spec.v2.v1.0+protobuf` and
 * kubectl asks for. Fields are written in field-number order as Go's
 * proto.Marshal does; proto3 scalars equal to their zero value are left out,
 * messages (even empty ones) and oneof members are written. Values gnostic
 * keeps as `Any` (vendor extensions, default, enum, example) travel as the
 * YAML text gnostic makes of them (yaml.v3, block style). Pure.
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { stringify } from 'yaml';
import { isObject, type Json, type JsonObject } from './swagger.js';

type W = BinaryWriter;
const LEN = WireType.LengthDelimited;

function str(w: W, n: number, v: Json | undefined): void {
  if (typeof v === 'string' && v !== '') w.tag(n, LEN).string(v);
}
function strs(w: W, n: number, v: Json | undefined): void {
  for (const s of Array.isArray(v) ? v : []) if (typeof s === 'string') w.tag(n, LEN).string(s);
}
function bool(w: W, n: number, v: Json | undefined): void {
  if (v === true) w.tag(n, WireType.Varint).bool(true);
}
function double(w: W, n: number, v: Json | undefined): void {
  if (typeof v === 'number' && v !== 0) w.tag(n, WireType.Bit64).double(v);
}
function int64(w: W, n: number, v: Json | undefined): void {
  if (typeof v === 'number' && v !== 0) w.tag(n, WireType.Varint).int64(v);
}
function msg(w: W, n: number, body: (w: W) => void): void {
  w.tag(n, LEN).fork();
  body(w);
  w.join();
}
const entries = (v: Json | undefined): [string, Json][] => (isObject(v) ? Object.entries(v) : []);

/** gnostic's text for a value: YAML as yaml.v3 prints it (1.1 words such as `yes` quoted, so Go's yaml.v2 reads them back as strings). */
export function yamlOf(v: Json): string {
  // The same few values (actions, kinds, patch strategies) recur thousands of times.
  const key = JSON.stringify(v);
  let text = yamlCache.get(key);
  if (text === undefined) yamlCache.set(key, (text = stringify(v, { version: '1.1', lineWidth: 0 })));
  return text;
}
const yamlCache = new Map<string, string>();

/** Any { google.protobuf.Any value = 1; string yaml = 2; } */
function any(w: W, n: number, v: Json | undefined): void {
  if (v !== undefined) msg(w, n, (a) => str(a, 2, yamlOf(v)));
}

/** repeated NamedAny vendor_extension: the object's `x-` keys. */
function vendor(w: W, n: number, o: JsonObject): void {
  for (const [k, v] of Object.entries(o)) {
    if (!k.startsWith('x-')) continue;
    msg(w, n, (na) => {
      str(na, 1, k);
      any(na, 2, v);
    });
  }
}

function externalDocs(w: W, n: number, v: Json | undefined): void {
  if (!isObject(v)) return;
  msg(w, n, (e) => {
    str(e, 1, v.description);
    str(e, 2, v.url);
    vendor(e, 3, v);
  });
}

/** Schema: the definitions and every schema inside them. */
export function schema(w: W, s: JsonObject): void {
  str(w, 1, s.$ref);
  str(w, 2, s.format);
  str(w, 3, s.title);
  str(w, 4, s.description);
  any(w, 5, s.default);
  double(w, 6, s.multipleOf);
  double(w, 7, s.maximum);
  bool(w, 8, s.exclusiveMaximum);
  double(w, 9, s.minimum);
  bool(w, 10, s.exclusiveMinimum);
  int64(w, 11, s.maxLength);
  int64(w, 12, s.minLength);
  str(w, 13, s.pattern);
  int64(w, 14, s.maxItems);
  int64(w, 15, s.minItems);
  bool(w, 16, s.uniqueItems);
  int64(w, 17, s.maxProperties);
  int64(w, 18, s.minProperties);
  strs(w, 19, s.required);
  for (const e of Array.isArray(s.enum) ? s.enum : []) any(w, 20, e);
  const ap = s.additionalProperties;
  // AdditionalPropertiesItem { oneof { Schema schema = 1; bool boolean = 2; } }: a oneof member is written even when false.
  if (typeof ap === 'boolean') msg(w, 21, (a) => a.tag(2, WireType.Varint).bool(ap));
  else if (isObject(ap)) msg(w, 21, (a) => msg(a, 1, (x) => schema(x, ap)));
  // TypeItem { repeated string value = 1; }
  if (typeof s.type === 'string' || Array.isArray(s.type)) msg(w, 22, (t) => strs(t, 1, typeof s.type === 'string' ? [s.type] : s.type));
  // ItemsItem { repeated Schema schema = 1; }
  const items = s.items;
  if (isObject(items) || Array.isArray(items))
    msg(w, 23, (it) => (Array.isArray(items) ? items : [items]).filter(isObject).forEach((x) => msg(it, 1, (y) => schema(y, x))));
  for (const x of Array.isArray(s.allOf) ? s.allOf.filter(isObject) : []) msg(w, 24, (y) => schema(y, x));
  // Properties { repeated NamedSchema additional_properties = 1; }
  if (isObject(s.properties)) msg(w, 25, (p) => namedSchemas(p, 1, s.properties));
  str(w, 26, s.discriminator);
  bool(w, 27, s.readOnly);
  externalDocs(w, 29, s.externalDocs);
  any(w, 30, s.example);
  vendor(w, 31, s);
}

/** repeated NamedSchema { string name = 1; Schema value = 2; } */
function namedSchemas(w: W, n: number, o: Json | undefined): void {
  for (const [name, s] of entries(o)) {
    if (!isObject(s)) continue;
    msg(w, n, (ns) => {
      str(ns, 1, name);
      msg(ns, 2, (x) => schema(x, s));
    });
  }
}

/**
 * The fields that PrimitivesItems and the non-body parameters share, from
 * `type` on (field `n`): the parameters number them after their own
 * required/in/description/name (and allowEmptyValue for query and formData).
 */
function primitive(w: W, p: JsonObject, n: number): void {
  PRIMITIVE.forEach(([key, write], i) => write(w, n + i, p[key]));
  vendor(w, n + PRIMITIVE.length, p);
}

// In field order. `items` is a PrimitivesItems itself; `enum` a repeated Any.
const PRIMITIVE: [string, (w: W, n: number, v: Json | undefined) => void][] = [
  ['type', str],
  ['format', str],
  ['items', (w, n, v) => isObject(v) && msg(w, n, (i) => primitive(i, v, 1))],
  ['collectionFormat', str],
  ['default', any],
  ['maximum', double],
  ['exclusiveMaximum', bool],
  ['minimum', double],
  ['exclusiveMinimum', bool],
  ['maxLength', int64],
  ['minLength', int64],
  ['pattern', str],
  ['maxItems', int64],
  ['minItems', int64],
  ['uniqueItems', bool],
  ['enum', (w, n, v) => (Array.isArray(v) ? v : []).forEach((e) => any(w, n, e))],
  ['multipleOf', double],
];

// NonBodyParameter { oneof { header = 1; form_data = 2; query = 3; path = 4 } }
const NON_BODY: Record<string, number> = { header: 1, formData: 2, query: 3, path: 4 };

/** ParametersItem { oneof { Parameter parameter = 1; JsonReference json_reference = 2; } } */
function parameter(w: W, n: number, p: JsonObject): void {
  msg(w, n, (item) => {
    if (typeof p.$ref === 'string') {
      msg(item, 2, (r) => {
        str(r, 1, p.$ref);
        str(r, 2, p.description);
      });
      return;
    }
    // Parameter { oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; } }
    msg(item, 1, (param) => {
      if (p.in === 'body') {
        msg(param, 1, (b) => {
          str(b, 1, p.description);
          str(b, 2, p.name);
          str(b, 3, p.in);
          bool(b, 4, p.required);
          if (isObject(p.schema)) {
            const s = p.schema;
            msg(b, 5, (x) => schema(x, s));
          }
          vendor(b, 6, p);
        });
        return;
      }
      const which = NON_BODY[typeof p.in === 'string' ? p.in : ''] ?? NON_BODY.query;
      msg(param, 2, (nb) =>
        msg(nb, which, (sub) => {
          bool(sub, 1, p.required);
          str(sub, 2, p.in);
          str(sub, 3, p.description);
          str(sub, 4, p.name);
          const allowEmpty = which === NON_BODY.query || which === NON_BODY.formData;
          if (allowEmpty) bool(sub, 5, p.allowEmptyValue);
          primitive(sub, p, allowEmpty ? 6 : 5);
        }),
      );
    });
  });
}

/** Responses { repeated NamedResponseValue response_code = 1; repeated NamedAny vendor_extension = 2; } */
function responses(w: W, n: number, o: JsonObject): void {
  msg(w, n, (rs) => {
    for (const [code, r] of Object.entries(o)) {
      if (!isObject(r)) continue;
      msg(rs, 1, (named) => {
        str(named, 1, code);
        // ResponseValue { oneof { Response response = 1; JsonReference json_reference = 2; } }
        msg(named, 2, (rv) =>
          msg(rv, 1, (resp) => {
            str(resp, 1, r.description);
            const s = r.schema;
            // SchemaItem { oneof { Schema schema = 1; FileSchema file_schema = 2; } }
            if (isObject(s)) msg(resp, 2, (si) => msg(si, 1, (x) => schema(x, s)));
            vendor(resp, 5, r);
          }),
        );
      });
    }
    vendor(rs, 2, o);
  });
}

/** SecurityRequirement { repeated NamedStringArray additional_properties = 1; } */
function security(w: W, n: number, v: Json | undefined): void {
  for (const req of Array.isArray(v) ? v.filter(isObject) : []) {
    msg(w, n, (sr) => {
      for (const [name, scopes] of Object.entries(req)) {
        msg(sr, 1, (nsa) => {
          str(nsa, 1, name);
          msg(nsa, 2, (sa) => strs(sa, 1, scopes));
        });
      }
    });
  }
}

function operation(w: W, n: number, op: JsonObject): void {
  msg(w, n, (o) => {
    strs(o, 1, op.tags);
    str(o, 2, op.summary);
    str(o, 3, op.description);
    externalDocs(o, 4, op.externalDocs);
    str(o, 5, op.operationId);
    strs(o, 6, op.produces);
    strs(o, 7, op.consumes);
    for (const p of Array.isArray(op.parameters) ? op.parameters.filter(isObject) : []) parameter(o, 8, p);
    if (isObject(op.responses)) responses(o, 9, op.responses);
    strs(o, 10, op.schemes);
    bool(o, 11, op.deprecated);
    security(o, 12, op.security);
    vendor(o, 13, op);
  });
}

// PathItem { _ref = 1; get = 2; put = 3; post = 4; delete = 5; options = 6; head = 7; patch = 8; parameters = 9; vendor_extension = 10; }
const OPERATIONS: [string, number][] = [
  ['get', 2],
  ['put', 3],
  ['post', 4],
  ['delete', 5],
  ['options', 6],
  ['head', 7],
  ['patch', 8],
];

function pathItem(w: W, item: JsonObject): void {
  str(w, 1, item.$ref);
  for (const [method, n] of OPERATIONS) {
    const op = item[method];
    if (isObject(op)) operation(w, n, op);
  }
  for (const p of Array.isArray(item.parameters) ? item.parameters.filter(isObject) : []) parameter(w, 9, p);
  vendor(w, 10, item);
}

/** SecurityDefinitionsItem: basic (1) and apiKey (2); Kubernetes declares no OAuth2 flows. */
function securityDefinitions(w: W, n: number, v: Json | undefined): void {
  if (!isObject(v)) return;
  msg(w, n, (sd) => {
    for (const [name, def] of Object.entries(v)) {
      if (!isObject(def) || (def.type !== 'basic' && def.type !== 'apiKey')) continue;
      msg(sd, 1, (named) => {
        str(named, 1, name);
        msg(named, 2, (item) =>
          msg(item, def.type === 'basic' ? 1 : 2, (sec) => {
            str(sec, 1, def.type);
            if (def.type === 'basic') {
              str(sec, 2, def.description);
              vendor(sec, 3, def);
            } else {
              str(sec, 2, def.name);
              str(sec, 3, def.in);
              str(sec, 4, def.description);
              vendor(sec, 5, def);
            }
          }),
        );
      });
    }
  });
}

/** The Document message of a Swagger 2.0 document (global parameters, responses and tags: Kubernetes' document has none we serve). */
export function encodeDocument(doc: JsonObject): Uint8Array {
  const w = new BinaryWriter();
  str(w, 1, doc.swagger);
  const info = doc.info;
  if (isObject(info)) {
    msg(w, 2, (i) => {
      str(i, 1, info.title);
      str(i, 2, info.version);
      str(i, 3, info.description);
      str(i, 4, info.termsOfService);
      vendor(i, 7, info);
    });
  }
  str(w, 3, doc.host);
  str(w, 4, doc.basePath);
  strs(w, 5, doc.schemes);
  strs(w, 6, doc.consumes);
  strs(w, 7, doc.produces);
  const paths = doc.paths;
  if (isObject(paths)) {
    // Paths { repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2; }
    msg(w, 8, (ps) => {
      vendor(ps, 1, paths);
      for (const [p, item] of Object.entries(paths)) {
        if (p.startsWith('x-') || !isObject(item)) continue;
        msg(ps, 2, (named) => {
          str(named, 1, p);
          msg(named, 2, (x) => pathItem(x, item));
        });
      }
    });
  }
  // Definitions { repeated NamedSchema additional_properties = 1; }
  if (isObject(doc.definitions)) msg(w, 9, (d) => namedSchemas(d, 1, doc.definitions));
  security(w, 12, doc.security);
  securityDefinitions(w, 13, doc.securityDefinitions);
  externalDocs(w, 15, doc.externalDocs);
  vendor(w, 16, doc);
  return w.finish();
}
