/**
 * Protocol-buffer wire reading on @bufbuild/protobuf's BinaryReader (the
 * reader our generated gRPC code uses): a loop over one message's fields,
 * and the Kubernetes envelope (`k8s\0` + runtime.Unknown). Pure.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { StatusError } from '@kemu/api';

export { BinaryReader, WireType };

export const protoError = (msg: string) =>
  new StatusError(415, 'UnsupportedMediaType', `the protobuf body could not be decoded: ${msg}; send it as application/json`);

/**
 * Call `onField` for each field of the message in `buf`; it reads the
 * field's value from the reader, or returns false to have it skipped.
 * Whatever the reader throws (a truncated or malformed body) becomes a 415.
 */
export function eachField(buf: Uint8Array, onField: (num: number, wire: WireType, r: BinaryReader) => boolean | void): void {
  const r = new BinaryReader(buf);
  try {
    while (r.pos < r.len) {
      const [num, wire] = r.tag();
      if (onField(num, wire, r) === false) r.skip(wire, num);
    }
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw protoError(`truncated or malformed message (${(e as Error).message})`);
  }
}

export const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Split the Kubernetes envelope into apiVersion, kind and the raw object bytes. */
export function unwrap(body: Buffer): { apiVersion: string; kind: string; raw: Uint8Array } {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw protoError('missing the k8s\\0 prefix');
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array = new Uint8Array();
  eachField(body.subarray(4), (num, wire, r) => {
    if (wire !== WireType.LengthDelimited) return false;
    if (num === 2) raw = r.bytes();
    else if (num === 1) {
      // runtime.TypeMeta
      eachField(r.bytes(), (n, w, t) => {
        if (w !== WireType.LengthDelimited) return false;
        if (n === 1) apiVersion = t.string();
        else if (n === 2) kind = t.string();
        else return false;
      });
    } else return false;
  });
  return { apiVersion, kind, raw };
}
