/**
 * TLS secrets → the PEM files nginx loads. A secret must exist in the
 * Ingress's namespace and hold `tls.crt` and `tls.key` that parse and belong
 * together (checked here, so a broken secret makes its Ingress invalid
 * instead of failing nginx's test of the whole configuration). The file
 * holds certificate and key, as ingress-nginx writes them, and its name
 * carries a hash of its content, so a renewed certificate is a new file and
 * a new configuration (nginx reads certificates only when it loads one).
 * Pure: the caller writes the files.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type { Secret } from 'kubernetes-types/core/v1.js';

export interface PemFile {
  path: string;
  content: string;
}

export type CertResolution = { ok: true; file: PemFile } | { ok: false; reason: string; message: string };

const decode = (b64: string | undefined) => (b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8'));

/** The PEM file for secret `namespace/name` (from `secrets`, keyed `namespace/name`), in `sslDir`. */
export function certificateFile(namespace: string, name: string, secrets: ReadonlyMap<string, Secret>, sslDir: string): CertResolution {
  const secret = secrets.get(`${namespace}/${name}`);
  if (!secret) return { ok: false, reason: 'SecretNotFound', message: `TLS secret ${namespace}/${name} does not exist` };
  const crt = decode(secret.data?.['tls.crt']) ?? secret.stringData?.['tls.crt'];
  const key = decode(secret.data?.['tls.key']) ?? secret.stringData?.['tls.key'];
  if (!crt || !key) return { ok: false, reason: 'InvalidCertificate', message: `TLS secret ${namespace}/${name} lacks tls.crt or tls.key` };
  try {
    const cert = new X509Certificate(crt);
    if (!cert.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not match the certificate');
  } catch (e) {
    return { ok: false, reason: 'InvalidCertificate', message: `TLS secret ${namespace}/${name}: ${e instanceof Error ? e.message : String(e)}` };
  }
  const content = `${crt.trim()}\n${key.trim()}\n`;
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 16);
  return { ok: true, file: { path: `${sslDir}/${namespace}_${name}_${hash}.pem`, content } };
}
