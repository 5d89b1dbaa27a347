/**
 * The cluster's credentials, made once at `kemu up`: a CA, the api-server's
 * serving certificate (SANs for every name and address it is reached by),
 * the admin's client certificate (group system:masters) and bearer tokens;
 * and the certificate signing requests of TLS bootstrapping.
 *
 * Keys are ECDSA P-256, as kubeadm's with `encryptionAlgorithm: ECDSA-P256`
 * (its default is RSA-2048) and as the kubelet's own client keys: an RSA 2048
 * key takes ~0.3 s of CPU to make here, a P-256 key 0.1 ms, and the dozen a
 * cluster starts with were most of what `kemu up` waited for. RSA keys are
 * still made where asked (the service account key signs RS256 tokens) and
 * read everywhere: a request's key is whatever the requester chose. Node's
 * crypto makes keys and signs; der.ts lays out the certificates.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import {
  OID,
  authorityKeyIdentifier,
  basicConstraints,
  isField,
  bitStringBytes,
  bytes,
  children,
  explicit,
  extKeyUsage,
  extension,
  fromDer,
  integer,
  isSequence,
  keyUsage,
  name,
  nameAttributes,
  nul,
  oid,
  oidOf,
  octets,
  pem,
  pemBlock,
  seq,
  subjectAltName,
  time,
  toDer,
  bits,
  type Asn1,
} from './der.js';

export interface KeyPair {
  cert: string;
  key: string;
}

/** kubeadm's names for the key types (ClusterConfiguration.encryptionAlgorithm). */
export type KeyAlgorithm = 'ECDSA-P256' | 'RSA-2048';

/** A new private key (PEM: SEC 1 for ECDSA, PKCS#1 for RSA, as Go writes them) and its SubjectPublicKeyInfo (DER). */
export interface NewKey {
  pem: string;
  spki: Buffer;
}

const generate = promisify(generateKeyPair);

/** A new key, made off the main thread: start several, then await them, and they are made in parallel. */
export async function newKey(algorithm: KeyAlgorithm = 'ECDSA-P256'): Promise<NewKey> {
  const rsa = algorithm === 'RSA-2048';
  const { privateKey, publicKey } = rsa ? await generate('rsa', { modulusLength: 2048 }) : await generate('ec', { namedCurve: 'P-256' });
  return { pem: privateKey.export({ type: rsa ? 'pkcs1' : 'sec1', format: 'pem' }).toString(), spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

/** How a key signs, as Go's x509 picks it: SHA-256 with RSA; ECDSA with the curve's hash; Ed25519 pure. */
function signatureAlgorithm(key: KeyObject): { hash: string | null; id: Asn1 } {
  if (key.asymmetricKeyType === 'rsa') return { hash: 'sha256', id: seq(oid('1.2.840.113549.1.1.11'), nul()) };
  if (key.asymmetricKeyType === 'ed25519') return { hash: null, id: seq(oid('1.3.101.112')) };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const [hash, n] = curve === 'secp384r1' ? ['sha384', 3] : curve === 'secp521r1' ? ['sha512', 4] : ['sha256', 2];
    // ECDSA's AlgorithmIdentifier has no parameters (RFC 5758 3.2).
    return { hash, id: seq(oid(`1.2.840.10045.4.3.${n}`)) };
  }
  throw new Error(`keys of type ${key.asymmetricKeyType} cannot sign certificates here`);
}

/** The hash each signature algorithm OID names (null: Ed25519's pure signature) and the key type it needs. */
const SIGNATURE_ALGORITHMS: Record<string, { hash: string | null; key: string }> = {
  '1.2.840.113549.1.1.11': { hash: 'sha256', key: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', key: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', key: 'rsa' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', key: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', key: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', key: 'ec' },
  '1.3.101.112': { hash: null, key: 'ed25519' },
};

/** `tbs` signed with `keyPem`: the SEQUENCE of it, the algorithm and the signature, as certificates and requests are. */
function signed(tbs: (alg: Asn1) => Asn1, keyPem: string): Buffer {
  const key = createPrivateKey(keyPem);
  const alg = signatureAlgorithm(key);
  const body = tbs(alg.id);
  return toDer(seq(body, alg.id, bits(sign(alg.hash, toDer(body), key))));
}

/** The key identifier of a public key: SHA-1 of its subjectPublicKey bits (RFC 5280 4.2.1.2, method 1, as Go). */
function keyId(spki: Buffer): Buffer {
  return createHash('sha1')
    .update(bitStringBytes(children(fromDer(spki))[1]))
    .digest();
}

const serial = () => Buffer.concat([Buffer.of(1), randomBytes(15)]); // positive, 16 bytes

/** The parts of a certificate a signer reads: its subject (DER, kept as it is for the issuer field), key identifier and expiry. */
function certificateParts(certPem: string): { subject: Asn1; keyId: Buffer; notAfter: Date } {
  const x = new X509Certificate(certPem);
  const tbs = children(children(fromDer(x.raw))[0]);
  // [0] version (absent in a v1 certificate), serial, signature, issuer, validity, subject, key, ..., [3] extensions
  const fields = isField(tbs[0], 0) ? tbs.slice(1) : tbs;
  const extensions = children(children(fields.find((f) => isField(f, 3)))[0]);
  const ski = extensions.find((e) => oidOf(children(e)[0]) === OID.subjectKeyIdentifier);
  // The CA's own subject key identifier when it has one (as Go copies it into what it signs), else one made from its key.
  const keyIdentifier = ski ? bytes(fromDer(bytes(children(ski).at(-1)))) : keyId(x.publicKey.export({ type: 'spki', format: 'der' }));
  return { subject: fields[4], keyId: keyIdentifier, notAfter: new Date(x.validTo) };
}

interface CertificateFields {
  issuer: Asn1;
  subject: Asn1;
  spki: Buffer;
  notBefore: Date;
  notAfter: Date;
  extensions: Asn1[];
}

function certificate(f: CertificateFields, issuerKeyPem: string): string {
  const der = signed(
    (alg) =>
      seq(
        explicit(0, integer(Buffer.of(2))), // v3
        integer(serial()),
        alg,
        f.issuer,
        seq(time(f.notBefore), time(f.notAfter)),
        f.subject,
        fromDer(f.spki),
        explicit(3, seq(...f.extensions)),
      ),
    issuerKeyPem,
  );
  return pem('CERTIFICATE', der);
}

const years = (n: number) => new Date(Date.now() + n * 365 * 24 * 3600 * 1000);
/** keyEncipherment only for RSA keys, as client-go's cert helpers and kubeadm set it (it means nothing to ECDSA). */
const encipherment = (spki: Buffer) => createPublicKey({ key: spki, format: 'der', type: 'spki' }).asymmetricKeyType === 'rsa';

export function makeCA(k: NewKey, commonName = 'kemu-ca'): KeyPair {
  const subject = name([{ oid: OID.commonName, value: commonName }]);
  const cert = certificate(
    {
      issuer: subject,
      subject,
      spki: k.spki,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: years(10),
      extensions: [
        extension(OID.keyUsage, true, keyUsage({ digitalSignature: true, keyEncipherment: encipherment(k.spki), keyCertSign: true })),
        extension(OID.basicConstraints, true, basicConstraints(true)),
        extension(OID.subjectKeyIdentifier, false, octets(keyId(k.spki))),
      ],
    },
    k.pem,
  );
  return { cert, key: k.pem };
}

export interface CertRequest {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ips?: string[];
  server?: boolean;
  client?: boolean;
}

const subjectOf = (commonName: string, organizations: string[] = []) =>
  name([{ oid: OID.commonName, value: commonName }, ...organizations.map((value) => ({ oid: OID.organizationName, value }))]);

/** A certificate for `k`'s public key, signed by the CA. */
export function signCert(ca: KeyPair, req: CertRequest, k: NewKey): KeyPair {
  const issuer = certificateParts(ca.cert);
  const usages = [...(req.server ? [OID.serverAuth] : []), ...(req.client ? [OID.clientAuth] : [])];
  const dns = req.dnsNames ?? [];
  const ips = req.ips ?? [];
  const cert = certificate(
    {
      issuer: issuer.subject,
      subject: subjectOf(req.commonName, req.organizations),
      spki: k.spki,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: years(5),
      extensions: [
        extension(OID.keyUsage, true, keyUsage({ digitalSignature: true, keyEncipherment: encipherment(k.spki) })),
        ...(usages.length ? [extension(OID.extKeyUsage, false, extKeyUsage(usages))] : []),
        extension(OID.basicConstraints, true, basicConstraints(false)),
        extension(OID.authorityKeyIdentifier, false, authorityKeyIdentifier(issuer.keyId)),
        ...(dns.length || ips.length ? [extension(OID.subjectAltName, false, subjectAltName(dns, ips))] : []),
      ],
    },
    ca.key,
  );
  return { cert, key: k.pem };
}

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

/** What a certificate signing request asks for: its subject and its public key. */
export interface CsrSubject {
  commonName: string;
  organizations: string[];
}

/** A parsed request whose self-signature holds: its subject's attributes and its key, for signing. */
export interface ParsedCsr extends CsrSubject {
  attributes: { oid: string; value: string }[];
  spki: Buffer;
}

/** A PKCS#10 request (PEM) for `k`, signed with it (as the kubelet's TLS bootstrap makes one: CN system:node:NAME, O system:nodes). */
export function makeCsr(k: NewKey, subject: CsrSubject): string {
  // version 0, subject, key, no attributes ([0] IMPLICIT SET OF, empty)
  const der = signed(() => seq(integer(Buffer.of(0)), subjectOf(subject.commonName, subject.organizations), fromDer(k.spki), explicit(0)), k.pem);
  return pem('CERTIFICATE REQUEST', der);
}

/** Thrown for a request that cannot be parsed or whose signature does not hold. */
export class CsrError extends Error {}

/** The subject and key of a PEM request whose self-signature holds (RSA, ECDSA or Ed25519 keys), as Go's x509 reads one. */
export function parseCsr(text: string): ParsedCsr {
  const der = pemBlock(text, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
  if (!der) throw new CsrError('the request is not a PEM block of type CERTIFICATE REQUEST');
  let info: Asn1;
  let subject: Asn1;
  let alg: string;
  let signature: Buffer;
  let spki: Buffer;
  let key: KeyObject;
  try {
    const top = children(fromDer(der));
    const [i, a, s] = top;
    const [version, sub, pub] = children(i);
    if (top.length !== 3 || !isSequence(i) || !isSequence(sub) || !isSequence(pub) || !isSequence(a)) throw new Error('not a CertificationRequest');
    if (!bytes(version).equals(Buffer.of(0))) throw new Error('not version 1');
    const bits = bytes(s);
    if (bits[0] !== 0) throw new Error('the signature is not whole bytes');
    info = i!;
    subject = sub!;
    alg = oidOf(children(a)[0]);
    signature = bits.subarray(1);
    spki = toDer(pub);
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (e) {
    throw new CsrError(`the request is not a PKCS#10 certificate request: ${(e as Error).message}`);
  }
  const algorithm = SIGNATURE_ALGORITHMS[alg];
  if (!algorithm) throw new CsrError(`the request's signature algorithm ${alg || '(none)'} is not supported`);
  if (algorithm.key !== key.asymmetricKeyType) throw new CsrError(`the request's ${key.asymmetricKeyType} key does not go with its signature algorithm ${alg}`);
  let holds = false;
  try {
    holds = verify(algorithm.hash, toDer(info), key, signature);
  } catch {
    holds = false;
  }
  if (!holds) throw new CsrError('the request is not signed by its own key');
  let attributes: { oid: string; value: string }[];
  try {
    attributes = nameAttributes(subject);
  } catch (e) {
    throw new CsrError(`the request's subject: ${(e as Error).message}`);
  }
  const values = (o: string) => attributes.filter((a) => a.oid === o).map((a) => a.value);
  return { commonName: values(OID.commonName)[0] ?? '', organizations: values(OID.organizationName), attributes, spki };
}

/** Extended key usages by their certificates.k8s.io names. */
const EXT_USAGES: Record<string, string> = { 'client auth': OID.clientAuth, 'server auth': OID.serverAuth };

/** A certificate for a parsed request, signed by the CA, valid for `seconds`, with the requested usages (kube-controller-manager's csrsigning). */
export function signCsr(ca: KeyPair, req: ParsedCsr, usages: string[], seconds: number, now = new Date()): string {
  const issuer = certificateParts(ca.cert);
  const ext = usages.flatMap((u) => (EXT_USAGES[u] ? [EXT_USAGES[u]] : []));
  const key = { digitalSignature: usages.includes('digital signature'), keyEncipherment: usages.includes('key encipherment') };
  return certificate(
    {
      issuer: issuer.subject,
      // Written anew from what was read (as Go's signer marshals the parsed name), so the certificate says what was checked.
      subject: name(req.attributes),
      spki: req.spki,
      // Backdated 5 minutes for clock skew, as Kubernetes' signer does.
      notBefore: new Date(now.getTime() - 5 * 60_000),
      notAfter: new Date(Math.min(now.getTime() + seconds * 1000, issuer.notAfter.getTime())),
      extensions: [
        // No key usage asked: no extension (as Go writes a zero KeyUsage), rather than one allowing nothing, which TLS refuses.
        ...(key.digitalSignature || key.keyEncipherment ? [extension(OID.keyUsage, true, keyUsage(key))] : []),
        ...(ext.length ? [extension(OID.extKeyUsage, false, extKeyUsage(ext))] : []),
        extension(OID.basicConstraints, true, basicConstraints(false)),
        extension(OID.authorityKeyIdentifier, false, authorityKeyIdentifier(issuer.keyId)),
      ],
    },
    ca.key,
  );
}
