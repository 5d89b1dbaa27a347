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
