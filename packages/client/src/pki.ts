/**
 * The cluster's credentials, made once at `kemu up`: a CA, the api-server's
 * serving certificate (SANs for every name and address it is reached by),
 * the admin's client certificate (group system:masters) and bearer tokens.
 * Keys come from Node's crypto, made on libuv's thread pool so that several
 * are made at once on every core (RSA key generation is most of the time
 * `kemu init` takes); node-forge only lays out the certificates, which
 * Node's crypto signs (forge's RSA in JavaScript is ~40 times slower).
 */
import { generateKeyPair, randomBytes, sign } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

export interface KeyPair {
  cert: string;
  key: string;
}

/** A new RSA 2048 key (PKCS#1 PEM), and its public half as forge puts it in a certificate. */
export interface NewKey {
  pem: string;
  pub: forge.pki.rsa.PublicKey;
}

/** A new key, made off the main thread: start several, then await them, and they are made in parallel. */
export async function newKey(): Promise<NewKey> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return {
    pem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    pub: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

declare module 'node-forge' {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- augments forge's own namespace with a function it has and its types omit
  namespace pki {
    /** The to-be-signed part of a certificate, as forge lays it out for cert.sign (lib/x509.js). */
    function getTBSCertificate(cert: Certificate): asn1.Asn1;
    /** The to-be-signed part of a certification request, as forge lays it out for csr.sign (lib/x509.js). */
    function getCertificationRequestInfo(csr: CertificateSigningRequest): asn1.Asn1;
  }
}

/** Sign `cert` (sha256WithRSAEncryption) with the issuer's PEM key, as forge's cert.sign would but with Node's crypto. */
function signWith(cert: forge.pki.Certificate, issuerKeyPem: string): string {
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  cert.tbsCertificate = forge.pki.getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, issuerKeyPem).toString('binary');
  return forge.pki.certificateToPem(cert);
}

function serial(): string {
  // Positive, 16 bytes.
  return '01' + randomBytes(15).toString('hex');
}

function validity(cert: forge.pki.Certificate, years: number): void {
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + years * 365 * 24 * 3600 * 1000);
}

export function makeCA(k: NewKey, commonName = 'kemu-ca'): KeyPair {
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.pub;
  cert.serialNumber = serial();
  validity(cert, 10);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { cert: signWith(cert, k.pem), key: k.pem };
}

export interface CertRequest {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ips?: string[];
  server?: boolean;
  client?: boolean;
}

/** A certificate for `k`'s public key, signed by the CA. */
export function signCert(ca: KeyPair, req: CertRequest, k: NewKey): KeyPair {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.pub;
  cert.serialNumber = serial();
  validity(cert, 5);
  cert.setSubject([{ name: 'commonName', value: req.commonName }, ...(req.organizations ?? []).map((o) => ({ name: 'organizationName', value: o }))]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [...(req.dnsNames ?? []).map((value) => ({ type: 2, value })), ...(req.ips ?? []).map((ip) => ({ type: 7, ip }))];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: !!req.server, clientAuth: !!req.client },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  return { cert: signWith(cert, ca.key), key: k.pem };
}

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

/** What a certificate signing request asks for: its subject and its public key. */
export interface CsrSubject {
  commonName: string;
  organizations: string[];
}

/**
 * A PKCS#10 request (PEM) for `k`, signed with it (as the kubelet's TLS bootstrap makes one: CN system:node:NAME,
 * O system:nodes). The key is RSA: forge, which lays it out, reads no EC keys (the kubelet's are ECDSA P-256).
 */
export function makeCsr(k: NewKey, subject: CsrSubject): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = k.pub;
  csr.setSubject([{ name: 'commonName', value: subject.commonName }, ...subject.organizations.map((value) => ({ name: 'organizationName', value }))]);
  csr.signatureOid = csr.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  const info = forge.pki.getCertificationRequestInfo(csr);
  csr.certificationRequestInfo = info;
  csr.signature = sign('sha256', Buffer.from(forge.asn1.toDer(info).getBytes(), 'binary'), k.pem).toString('binary');
  return forge.pki.certificationRequestToPem(csr);
}

/** Thrown for a request that cannot be parsed or whose signature does not hold. */
export class CsrError extends Error {}

/** The subject of a PEM request whose self-signature holds, and the request itself (for signing). */
export function parseCsr(pem: string): CsrSubject & { csr: forge.pki.CertificateSigningRequest } {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(pem);
  } catch (e) {
    throw new CsrError(`the request is not a PKCS#10 certificate request with an RSA key: ${(e as Error).message}`);
  }
  if (!csr.verify()) throw new CsrError('the request is not signed by its own key');
  const attrs = csr.subject.attributes;
  const values = (name: string) => attrs.filter((a) => a.name === name).map((a) => String(a.value));
  return { commonName: values('commonName')[0] ?? '', organizations: values('organizationName'), csr };
}

/** Extended key usages by their certificates.k8s.io names. */
const EXT_USAGES: Record<string, string> = { 'client auth': 'clientAuth', 'server auth': 'serverAuth' };

/** A certificate for a parsed request, signed by the CA, valid for `seconds`, with the requested usages (kube-controller-manager's csrsigning). */
export function signCsr(ca: KeyPair, req: ReturnType<typeof parseCsr>, usages: string[], seconds: number, now = new Date()): string {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const cert = forge.pki.createCertificate();
  cert.publicKey = req.csr.publicKey!;
  cert.serialNumber = serial();
  // Backdated 5 minutes for clock skew, as Kubernetes' signer does.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(Math.min(now.getTime() + seconds * 1000, caCert.validity.notAfter.getTime()));
  cert.setSubject(req.csr.subject.attributes);
  cert.setIssuer(caCert.subject.attributes);
  const ext = Object.fromEntries(usages.filter((u) => EXT_USAGES[u]).map((u) => [EXT_USAGES[u], true]));
  const key = { digitalSignature: usages.includes('digital signature'), keyEncipherment: usages.includes('key encipherment') };
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    // No key usage asked: no extension (as Go writes a zero KeyUsage), rather than one allowing nothing, which TLS refuses.
    ...(key.digitalSignature || key.keyEncipherment ? [{ name: 'keyUsage', ...key, critical: true }] : []),
    ...(Object.keys(ext).length ? [{ name: 'extKeyUsage', ...ext }] : []),
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  return signWith(cert, ca.key);
}
