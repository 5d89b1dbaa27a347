/**
 * DER pieces of X.509 and PKCS#10, built and read with node-forge's ASN.1
 * codec (that module alone: forge-modules.d.ts). forge's own certificate and
 * request code reads and writes RSA keys only; here a public key is the
 * SubjectPublicKeyInfo Node's crypto exports (RSA, ECDSA or Ed25519 alike),
 * embedded as it is.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type forge from 'node-forge';
import asn1 from 'node-forge/lib/asn1.js';
import util from 'node-forge/lib/util.js';

const U = asn1.Class.UNIVERSAL;
const CTX = asn1.Class.CONTEXT_SPECIFIC;
/** Whether `a` is the context-specific field [n]. */
export const isField = (a: Asn1 | undefined, n: number): boolean => a?.tagClass === CTX && (a.type as number) === n;
const T = asn1.Type;

export type Asn1 = forge.asn1.Asn1;

export const OID = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const bin = (b: Buffer) => b.toString('binary');

export const seq = (...v: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, v);
const set = (...v: Asn1[]): Asn1 => asn1.create(U, T.SET, true, v);
export const oid = (o: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
export const nul = (): Asn1 => asn1.create(U, T.NULL, false, '');
export const octets = (b: Buffer): Asn1 => asn1.create(U, T.OCTETSTRING, false, bin(b));
/** A BIT STRING of whole bytes. */
export const bits = (b: Buffer): Asn1 => asn1.create(U, T.BITSTRING, false, `\x00${bin(b)}`);
/** A non-negative INTEGER from its big-endian bytes (a leading zero added where the top bit is set). */
export const integer = (b: Buffer): Asn1 => asn1.create(U, T.INTEGER, false, bin(b[0] & 0x80 ? Buffer.concat([Buffer.of(0), b]) : b));
export const explicit = (tag: number, ...v: Asn1[]): Asn1 => asn1.create(CTX, tag, true, v);
const implicit = (tag: number, b: Buffer): Asn1 => asn1.create(CTX, tag, false, bin(b));
const bool = (v: boolean): Asn1 => asn1.create(U, T.BOOLEAN, false, v ? '\xff' : '\x00');

export const toDer = (a: Asn1): Buffer => Buffer.from(asn1.toDer(a).getBytes(), 'binary');

/** Parse DER (all of it). BIT STRINGs stay bytes, so re-encoding a part gives back its very bytes. */
export function fromDer(b: Buffer): Asn1 {
  type FromDer = (bytes: forge.util.ByteBuffer, o: { strict: boolean; parseAllBytes: boolean; decodeBitStrings: boolean }) => Asn1;
  return (asn1.fromDer as unknown as FromDer)(util.createBuffer(bin(b)), { strict: true, parseAllBytes: true, decodeBitStrings: false });
}

/** The children of a constructed value, or [] for a primitive one. */
export const children = (a: Asn1 | undefined): Asn1[] => (Array.isArray(a?.value) ? a.value : []);
/** A primitive value's bytes. */
export const bytes = (a: Asn1 | undefined): Buffer => Buffer.from(typeof a?.value === 'string' ? a.value : '', 'binary');
export const oidOf = (a: Asn1 | undefined): string => (a && a.type === T.OID && typeof a.value === 'string' ? asn1.derToOid(a.value) : '');
export const isSequence = (a: Asn1 | undefined): boolean => !!a && a.tagClass === U && a.type === T.SEQUENCE && a.constructed;
/** A BIT STRING's bits, without the unused-bits count (0 for every key and signature). */
export const bitStringBytes = (a: Asn1 | undefined): Buffer => (a?.type === T.BITSTRING ? bytes(a).subarray(1) : Buffer.alloc(0));

/** A distinguished name of CN and O attributes, strings as Go's encoding/asn1 writes them (PrintableString when it can). */
export function name(attrs: { oid: string; value: string }[]): Asn1 {
  return seq(
    ...attrs.map((a) =>
      set(
        seq(
          oid(a.oid),
          /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(a.value)
            ? asn1.create(U, T.PRINTABLESTRING, false, a.value)
            : asn1.create(U, T.UTF8, false, util.encodeUtf8(a.value)),
        ),
      ),
    ),
  );
}

/** The string types Go's x509 reads in a name; forge has already decoded a BMPString. */
const NAME_STRINGS: ReadonlySet<number> = new Set([T.PRINTABLESTRING, T.UTF8, T.IA5STRING, 20 /* T61String */, T.BMPSTRING, 18 /* NumericString */]);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The attributes of a distinguished name, in order. Throws on a value Go's x509 would refuse (another string type,
 * such as a UniversalString whose raw bytes would read as something else, or UTF-8 that does not decode).
 */
export function nameAttributes(n: Asn1): { oid: string; value: string }[] {
  return children(n).flatMap((rdn) =>
    children(rdn).map((atv) => {
      const [type, value] = children(atv);
      if (!value || value.tagClass !== U || !NAME_STRINGS.has(value.type) || typeof value.value !== 'string')
        throw new Error(`a name attribute (${oidOf(type) || '?'}) is not a string of a type X.509 names use`);
      return { oid: oidOf(type), value: value.type === T.UTF8 ? utf8.decode(Buffer.from(value.value, 'binary')) : value.value };
    }),
  );
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5), to the second. */
export function time(d: Date): Asn1 {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? asn1.create(U, T.UTCTIME, false, s.slice(2)) : asn1.create(U, T.GENERALIZEDTIME, false, s);
}

/** One extension: its OID, critical when it is, and its value's DER in an OCTET STRING. */
export const extension = (id: string, critical: boolean, value: Asn1): Asn1 => seq(oid(id), ...(critical ? [bool(true)] : []), octets(toDer(value)));

/** basicConstraints: cA TRUE for a CA, else an empty SEQUENCE (cA's default, FALSE, is not written in DER). */
export const basicConstraints = (ca: boolean): Asn1 => (ca ? seq(bool(true)) : seq());

/** keyUsage as a named BIT STRING: bit 0 digitalSignature, 2 keyEncipherment, 5 keyCertSign; trailing zeros dropped. */
export function keyUsage(u: { digitalSignature?: boolean; keyEncipherment?: boolean; keyCertSign?: boolean }): Asn1 {
  const byte = (u.digitalSignature ? 0x80 : 0) | (u.keyEncipherment ? 0x20 : 0) | (u.keyCertSign ? 0x04 : 0);
  let unused = 0;
  while (unused < 8 && byte && !(byte & (1 << unused))) unused++;
  return asn1.create(U, T.BITSTRING, false, byte ? String.fromCharCode(unused, byte) : '\x00');
}

export const extKeyUsage = (oids: string[]): Asn1 => seq(...oids.map(oid));

/** subjectAltName: dNSName [2] and iPAddress [7] entries. */
export function subjectAltName(dnsNames: string[], ips: string[]): Asn1 {
  return seq(...dnsNames.map((d) => asn1.create(CTX, 2, false, d)), ...ips.map((a) => implicit(7, ipBytes(a))));
}

/** An address's bytes as Go writes them in a certificate: 4 for IPv4 (an IPv4-mapped IPv6 address included), else 16. */
export function ipBytes(a: string): Buffer {
  if (isIPv4(a)) return Buffer.from(a.split('.').map(Number));
  if (!isIPv6(a)) throw new Error(`${a} is not an IP address`);
  // A dotted tail (::ffff:1.2.3.4) is two groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  const text = dotted
    ? `${dotted[1]}${Buffer.from(dotted[2].split('.').map(Number))
        .toString('hex')
        .replace(/^(.{4})/, '$1:')}`
    : a;
  const [head = '', tail] = text.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.from(all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
  const mapped = b.subarray(0, 12).equals(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]));
  return mapped ? b.subarray(12) : b;
}

/** authorityKeyIdentifier: keyIdentifier [0]. */
export const authorityKeyIdentifier = (keyId: Buffer): Asn1 => seq(implicit(0, keyId));

/** A PEM block of `der`, 64 characters a line. */
export function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/** The DER of the first PEM block labelled one of `labels`, or undefined. */
export function pemBlock(text: string, labels: string[]): Buffer | undefined {
  for (const label of labels) {
    const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`).exec(text);
    if (m) return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  }
  return undefined;
}
