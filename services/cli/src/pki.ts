/**
 * The cluster's credentials, made once at `kemu up`: a CA, the api-server's
 * serving certificate (SANs for every name and address it is reached by),
 * the admin's client certificate (group system:masters) and bearer tokens.
 * Keys come from Node's crypto; node-forge only builds and signs the
 * certificates.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface KeyPair {
  cert: string;
  key: string;
}

function newKey(): { pem: string; forgeKey: forge.pki.rsa.PrivateKey; pub: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem);
  return { pem, forgeKey, pub: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

function serial(): string {
  // Positive, 16 bytes.
  return '01' + randomBytes(15).toString('hex');
}

function validity(cert: forge.pki.Certificate, years: number): void {
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + years * 365 * 24 * 3600 * 1000);
}

export function makeCA(commonName = 'kemu-ca'): KeyPair {
  const k = newKey();
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
  cert.sign(k.forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: k.pem };
}

export interface CertRequest {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ips?: string[];
  server?: boolean;
  client?: boolean;
}

export function signCert(ca: KeyPair, req: CertRequest): KeyPair {
  const k = newKey();
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
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
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: k.pem };
}

export function newToken(): string {
  return randomBytes(24).toString('hex');
}
