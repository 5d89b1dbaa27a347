import { describe, expect, it } from 'vitest';
import { validateCertificateSigningRequest, validateCertificateSigningRequestUpdate } from './certificates.js';

const pem = (type: string) => Buffer.from(`-----BEGIN ${type}-----\nAAAA\n-----END ${type}-----\n`).toString('base64');
const csr = (spec: object, status?: object) => ({
  spec: { request: pem('CERTIFICATE REQUEST'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'], ...spec },
  status,
});
const fields = (errs: { field: string }[]) => errs.map((e) => e.field);

describe('CertificateSigningRequest validation', () => {
  it('accepts a request to a qualified signer with known usages', () => {
    expect(validateCertificateSigningRequest(csr({}))).toEqual([]);
  });

  it('names each bad field as Kubernetes does', () => {
    const errs = validateCertificateSigningRequest(
      csr({ request: pem('CERTIFICATE'), signerName: 'nodomain', usages: ['client auth', 'flying'], expirationSeconds: 60 }),
    );
    expect(fields(errs)).toEqual(['spec.request', 'spec.signerName', 'spec.usages[1]', 'spec.expirationSeconds']);
    expect(errs[0]).toMatchObject({ detail: 'PEM block type must be CERTIFICATE REQUEST' });
    expect(fields(validateCertificateSigningRequest(csr({ signerName: '' })))).toEqual(['spec.signerName']);
  });

  it('refuses Approved with Denied, and a certificate on a request not approved', () => {
    const both = csr(
      {},
      {
        conditions: [
          { type: 'Approved', status: 'True' },
          { type: 'Denied', status: 'True' },
        ],
      },
    );
    expect(validateCertificateSigningRequest(both).map((e) => 'detail' in e && e.detail)).toContain('Approved and Denied conditions are mutually exclusive');
    expect(fields(validateCertificateSigningRequest(csr({}, { certificate: pem('CERTIFICATE') })))).toEqual(['status.certificate']);
  });

  it('keeps the spec and an issued certificate as they are', () => {
    const old = csr({}, { certificate: pem('CERTIFICATE') });
    expect(fields(validateCertificateSigningRequestUpdate(csr({ usages: ['server auth'] }, old.status), old))).toEqual(['spec']);
    expect(fields(validateCertificateSigningRequestUpdate(csr({}, { certificate: pem('OTHER') }), old))).toEqual(['status.certificate']);
  });
});
