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
    expect(fields(validateCertificateSigningRequest(csr({}, { certificate: pem('KEY') })))).toEqual(['status.certificate']);
    expect(fields(validateCertificateSigningRequest(csr({ usages: [] })))).toEqual(['spec.usages']);
    expect(fields(validateCertificateSigningRequest(csr({ signerName: 'example.com/a/b' })))).toEqual(['spec.signerName']);
  });

  it('never loses an Approved, Denied or Failed condition: a denied request stays denied', () => {
    const denied = csr({}, { conditions: [{ type: 'Denied', status: 'True' }] });
    const approved = csr({}, { conditions: [{ type: 'Approved', status: 'True' }] });
    expect(validateCertificateSigningRequestUpdate(approved, denied).map((e) => 'detail' in e && e.detail)).toEqual([
      'updates may not remove a condition of type "Denied"',
    ]);
  });

  it('keeps the spec and an issued certificate as they are', () => {
    const old = csr({}, { certificate: pem('CERTIFICATE') });
    expect(fields(validateCertificateSigningRequestUpdate(csr({ usages: ['server auth'] }, old.status), old))).toEqual(['spec']);
    expect(fields(validateCertificateSigningRequestUpdate(csr({}, { certificate: pem('OTHER') }), old))).toEqual(['status.certificate']);
  });
});
