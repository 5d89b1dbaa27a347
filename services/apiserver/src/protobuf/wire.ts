/**
 * Protocol-buffer wire reading: varints, length-delimited fields, and the
 * Kubernetes envelope (`k8s\0` + runtime.Unknown). Pure.
 */
import { StatusError } from '@kemu/api';

export interface Field {
  num: number;
  wire: number;
  /** varint or fixed value */
  int?: bigint;
  /** length-delimited payload */
  bytes?: Uint8Array;
}

export const protoError = (msg: string) => new StatusError(415, 'UnsupportedMediaType', `the protobuf body could not be decoded: ${msg}; send it as application/json`);

export function readFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw protoError('truncated varint');
      const b = buf[i++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw protoError('varint too long');
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const num = key >>> 3;
    const wire = key & 7;
    if (num === 0) throw protoError('field number 0');
    switch (wire) {
      case 0:
        out.push({ num, wire, int: varint() });
        break;
      case 1:
        if (i + 8 > buf.length) throw protoError('truncated fixed64');
        out.push({ num, wire, int: Buffer.from(buf.subarray(i, i + 8)).readBigUInt64LE() });
        i += 8;
        break;
      case 2: {
        const len = Number(varint());
        if (i + len > buf.length) throw protoError('truncated field');
        out.push({ num, wire, bytes: buf.subarray(i, i + len) });
        i += len;
        break;
      }
      case 5:
        if (i + 4 > buf.length) throw protoError('truncated fixed32');
        out.push({ num, wire, int: BigInt(Buffer.from(buf.subarray(i, i + 4)).readUInt32LE()) });
        i += 4;
        break;
      default:
        throw protoError(`wire type ${wire}`);
    }
  }
  return out;
}

export const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Split the Kubernetes envelope into apiVersion, kind and the raw object bytes. */
export function unwrap(body: Buffer): { apiVersion: string; kind: string; raw: Uint8Array } {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw protoError('missing the k8s\\0 prefix');
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array = new Uint8Array();
  for (const f of readFields(body.subarray(4))) {
    if (f.num === 1 && f.bytes) {
      for (const t of readFields(f.bytes)) {
        if (t.num === 1 && t.bytes) apiVersion = Buffer.from(t.bytes).toString('utf8');
        if (t.num === 2 && t.bytes) kind = Buffer.from(t.bytes).toString('utf8');
      }
    } else if (f.num === 2 && f.bytes) raw = f.bytes;
  }
  return { apiVersion, kind, raw };
}
