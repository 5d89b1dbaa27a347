import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CsrError, makeCA, makeCsr, newKey, parseCsr, signCsr } from './pki.js';

describe('certificate signing requests', () => {
  it('a kubelet-style request parses back to its subject and is signed into a client certificate of the CA', async () => {
    const [caKey, k] = await Promise.all([newKey(), newKey()]);
    const ca = makeCA(caKey);
    const pem = makeCsr(k, { commonName: 'system:node:node-1', organizations: ['system:nodes'] });
    expect(pem).toContain('BEGIN CERTIFICATE REQUEST');
    const req = parseCsr(pem);
    expect(req.commonName).toBe('system:node:node-1');
    expect(req.organizations).toEqual(['system:nodes']);
    const now = new Date();
    const cert = new X509Certificate(signCsr(ca, req, ['digital signature', 'client auth'], 3600, now));
    expect(cert.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(cert.subject).toContain('CN=system:node:node-1');
    expect(cert.subject).toContain('O=system:nodes');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(new Date(cert.validTo).getTime()).toBeLessThanOrEqual(now.getTime() + 3600_000);
  });

  it('refuses what is not a request', () => {
    expect(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n')).toThrow(CsrError);
    expect(() => parseCsr('hello')).toThrow(CsrError);
  });
});
