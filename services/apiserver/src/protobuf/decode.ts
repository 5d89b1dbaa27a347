/**
 * Kubernetes protobuf request bodies, decoded to the same JSON the rest of
 * the api-server handles. kubectl's typed clients (`kubectl create
 * namespace|configmap|secret|serviceaccount|quota|service|deployment|ingress|token`) send
 * protobuf; the message tables in ./schema.ts cover what they send, and any
 * field outside them is refused (415) rather than dropped.
 */
import { badRequest, formatTime } from '@kemu/api';
import { eachField, protoError, unwrap, WireType, type BinaryReader } from './wire.js';
import { MESSAGES, ROOTS, type FieldSpec } from './schema.js';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

type Json = Record<string, unknown>;

const VARINT_TYPES = new Set(['bool', 'int32', 'int64']);

/** Read one value of `type` (its tag already read). */
function readValue(type: string, r: BinaryReader): unknown {
  switch (type) {
    case 'string':
      return r.string();
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64');
    case 'bool':
      return r.bool();
    case 'int32':
      return r.int32();
    case 'int64':
      return Number(r.int64());
    case 'time': {
      // metav1.Time: seconds and nanos since the epoch; the zero time is omitted.
      let secs = 0;
      let nanos = 0;
      eachField(r.bytes(), (num, wire, t) => {
        if (wire !== WireType.Varint) return false;
        if (num === 1) secs = Number(t.int64());
        else if (num === 2) nanos = t.int32();
        else return false;
      });
      if (secs === 0 && nanos === 0) return undefined;
      return formatTime(secs * 1000);
    }
    case 'quantity': {
      let q = '0';
      eachField(r.bytes(), (num, wire, t) => {
        if (num !== 1 || wire !== WireType.LengthDelimited) return false;
        q = t.string();
      });
      return q;
    }
    case 'intorstring': {
      let kind = 0;
      let intVal = 0;
      let strVal = '';
      eachField(r.bytes(), (num, wire, t) => {
        if (num === 1 && wire === WireType.Varint) kind = t.int32();
        else if (num === 2 && wire === WireType.Varint) intVal = t.int32();
        else if (num === 3 && wire === WireType.LengthDelimited) strVal = t.string();
        else return false;
      });
      return kind === 1 ? strVal : intVal;
    }
    default:
      return decodeMessage(type, r.bytes());
  }
}

/** A map field's entry: key 1 (string), value 2 (of the field's type). */
function mapEntry(spec: FieldSpec, r: BinaryReader): [string, unknown] {
  let key = '';
  let value: unknown = spec.type === 'string' ? '' : undefined;
  eachField(r.bytes(), (num, wire, t) => {
    if (num === 1 && wire === WireType.LengthDelimited) key = t.string();
    else if (num === 2 && wire === valueWire(spec.type)) value = readValue(spec.type, t);
    else return false;
  });
  return [key, value];
}

const valueWire = (type: string) => (VARINT_TYPES.has(type) ? WireType.Varint : WireType.LengthDelimited);
/** Unpacked, as Kubernetes' proto2 messages are: a map entry is a message, anything else is its value's wire type. */
const wireOf = (spec: FieldSpec) => (spec.map ? WireType.LengthDelimited : valueWire(spec.type));

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
  eachField(buf, (num, wire, r) => {
    const spec = msg[num];
    if (!spec) throw protoError(`field ${num} of ${name} is not known to kemu`);
    if (wire !== wireOf(spec)) throw protoError(`field ${num} of ${name} has wire type ${wire}`);
    if (spec.map) {
      const [k, v] = mapEntry(spec, r);
      out[spec.name] = { ...(out[spec.name] ?? {}), [k]: v };
    } else if (spec.inline) {
      Object.assign(out, readValue(spec.type, r));
    } else if (spec.repeated) {
      const items = (out[spec.name] as unknown[] | undefined) ?? [];
      items.push(readValue(spec.type, r));
      out[spec.name] = items;
    } else out[spec.name] = readValue(spec.type, r);
  });
  for (const spec of Object.values(msg)) {
    if (!spec.inline && isEmpty(spec, out[spec.name])) delete out[spec.name];
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
