/**
 * Kubernetes protobuf request bodies, decoded to the same JSON the rest of
 * the api-server handles. kubectl's typed clients (`kubectl create
 * namespace|configmap|secret|serviceaccount|quota|service|deployment`) send
 * protobuf; the message tables in ./schema.ts cover what they send, and any
 * field outside them is refused (415) rather than dropped.
 */
import { badRequest } from '@kemu/api';
import { readFields, unwrap, protoError, type Field } from './wire.js';
import { MESSAGES, ROOTS, type FieldSpec } from './schema.js';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

type Json = Record<string, unknown>;

const utf8 = (b: Uint8Array) => Buffer.from(b).toString('utf8');

function scalar(spec: FieldSpec, f: Field): unknown {
  switch (spec.type) {
    case 'string':
      return utf8(f.bytes ?? new Uint8Array());
    case 'bytes':
      return Buffer.from(f.bytes ?? new Uint8Array()).toString('base64');
    case 'bool':
      return f.int !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, f.int ?? 0n));
    case 'int64':
      return Number(BigInt.asIntN(64, f.int ?? 0n));
    case 'time': {
      let secs = 0;
      let nanos = 0;
      for (const t of readFields(f.bytes ?? new Uint8Array())) {
        if (t.num === 1) secs = Number(BigInt.asIntN(64, t.int ?? 0n));
        if (t.num === 2) nanos = Number(t.int ?? 0n);
      }
      if (secs === 0 && nanos === 0) return undefined;
      return new Date(secs * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    }
    case 'quantity':
      for (const t of readFields(f.bytes ?? new Uint8Array())) if (t.num === 1) return utf8(t.bytes ?? new Uint8Array());
      return '0';
    case 'intorstring': {
      let type = 0;
      let intVal = 0;
      let strVal = '';
      for (const t of readFields(f.bytes ?? new Uint8Array())) {
        if (t.num === 1) type = Number(t.int);
        if (t.num === 2) intVal = Number(BigInt.asIntN(32, t.int ?? 0n));
        if (t.num === 3) strVal = utf8(t.bytes ?? new Uint8Array());
      }
      return type === 1 ? strVal : intVal;
    }
    default:
      return decodeMessage(spec.type, f.bytes ?? new Uint8Array());
  }
}

function mapEntry(spec: FieldSpec, f: Field): [string, unknown] {
  let key = '';
  let value: unknown = spec.type === 'string' ? '' : undefined;
  for (const t of readFields(f.bytes ?? new Uint8Array())) {
    if (t.num === 1) key = utf8(t.bytes ?? new Uint8Array());
    if (t.num === 2) value = scalar(spec, t);
  }
  return [key, value];
}

/** Is this decoded value what Go would have omitted from JSON (omitempty)? */
function isEmpty(spec: FieldSpec, v: unknown): boolean {
  if (v === undefined) return true;
  if (spec.keepZero) return false;
  if (v === '' || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length === 0 && !spec.keepEmpty;
  return false;
}

export function decodeMessage(name: string, buf: Uint8Array): Json {
  const msg = MESSAGES[name];
  if (!msg) throw protoError(`no table for message ${name}`);
  const out: Json = {};
  for (const f of readFields(buf)) {
    const spec = msg[f.num];
    if (!spec) throw protoError(`field ${f.num} of ${name} is not known to kemu`);
    if (spec.map) {
      const [k, v] = mapEntry(spec, f);
      out[spec.name] = { ...((out[spec.name] as Json) ?? {}), [k]: v };
    } else if (spec.repeated) {
      (out[spec.name] = (out[spec.name] as unknown[]) ?? []) as unknown[];
      (out[spec.name] as unknown[]).push(scalar(spec, f));
    } else out[spec.name] = scalar(spec, f);
  }
  for (const [num, spec] of Object.entries(msg)) {
    void num;
    if (isEmpty(spec, out[spec.name])) delete out[spec.name];
  }
  return out;
}

/** Decode a `k8s\0`-prefixed protobuf object into Kubernetes JSON. */
export function decodeProtobuf(body: Buffer): Json {
  const { apiVersion, kind, raw } = unwrap(body);
  const root = ROOTS[`${apiVersion}/${kind}`];
  if (!root) throw protoError(`kemu has no protobuf table for ${apiVersion}/${kind}`);
  const obj = decodeMessage(root, raw);
  if (!obj || typeof obj !== 'object') throw badRequest('empty object');
  return { apiVersion, kind, ...obj, metadata: obj.metadata ?? {} };
}
