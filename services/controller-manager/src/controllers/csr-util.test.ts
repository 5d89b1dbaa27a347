import { describe, expect, it } from 'vitest';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import { apiserverClientUsageProblem, approvalSubresources, decided, kubeletClientProblem } from './csr-util.js';

const subject = { commonName: 'system:node:node-1', organizations: ['system:nodes'] };
const csr = (username: string, conditions: { type: string; status: string }[] = []): CertificateSigningRequest => ({
  spec: { request: '', signerName: 'kubernetes.io/kube-apiserver-client-kubelet', username },
  status: { conditions },
});

describe('certificate controllers', () => {
  it("recognise a kubelet's client certificate request by its subject and usages", () => {
    expect(kubeletClientProblem(subject, ['digital signature', 'key encipherment', 'client auth'])).toBeUndefined();
    expect(kubeletClientProblem(subject, ['client auth', 'digital signature'])).toBeUndefined();
    expect(kubeletClientProblem(subject, ['client auth', 'server auth', 'digital signature'])).toMatch(/usages did not match/);
    expect(kubeletClientProblem({ ...subject, organizations: ['system:masters'] }, ['digital signature', 'client auth'])).toMatch(/system:nodes/);
    expect(kubeletClientProblem({ ...subject, commonName: 'admin' }, ['digital signature', 'client auth'])).toMatch(/system:node:/);
  });

  it('check a renewal as selfnodeclient and a bootstrap as nodeclient', () => {
    expect(approvalSubresources(csr('system:node:node-1'), subject)).toEqual(['selfnodeclient', 'nodeclient']);
    expect(approvalSubresources(csr('system:bootstrap:abcdef'), subject)).toEqual(['nodeclient']);
  });

  it("refuse what is not a client certificate's usages for the api-server client signer", () => {
    expect(apiserverClientUsageProblem(['client auth'])).toBeUndefined();
    expect(apiserverClientUsageProblem(['client auth', 'server auth'])).toBe('invalid usage for client certificate: server auth');
    expect(apiserverClientUsageProblem(['digital signature'])).toBe('missing required usage for client certificate: client auth');
  });

  it('leave a decided request alone', () => {
    expect(decided(csr('x', [{ type: 'Approved', status: 'True' }]))).toBe(true);
    expect(decided(csr('x', [{ type: 'Failed', status: 'True' }]))).toBe(false);
  });
});
