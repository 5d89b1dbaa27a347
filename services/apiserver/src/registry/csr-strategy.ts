/**
 * CertificateSigningRequest's strategies (Kubernetes'
 * pkg/registry/certificates/certificates/strategy.go): a new request records
 * who asked (the signer and the approver judge by it) and has no status; the
 * status subresource writes the certificate and conditions other than the
 * approval; the approval subresource writes only Approved and Denied. Pure.
 */
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from 'kubernetes-types/certificates/v1.js';
import { forbidden, invalid, invalidError, type KubeObject } from '@kemu/api';
import { CsrError, parseCsr } from '@kemu/client/pki';
import type { UserInfo } from '../http/auth.js';

type Csr = CertificateSigningRequest & KubeObject;

/** The caller's identity stamped on the spec, whatever the request said (PrepareForCreate). */
export function csrPrepareForCreate(obj: KubeObject, user: UserInfo | undefined): KubeObject {
  const csr = obj as Csr;
  const spec = { ...csr.spec };
  delete spec.username;
  delete spec.uid;
  delete spec.groups;
  delete spec.extra;
  if (user) {
    spec.username = user.name;
    if (user.groups.length) spec.groups = [...user.groups];
  }
  return { ...csr, spec, status: {} };
}

/**
 * What Kubernetes checks of a new request beyond its fields: the request parses and its signature holds
 * (validation's parseCSR), and CertificateSubjectRestriction admission: no kube-apiserver-client certificate for the
 * system:masters group. Throws the 422 or the 403.
 */
export function csrCreateChecks(obj: KubeObject): void {
  const csr = obj as Csr;
  let subject;
  try {
    subject = parseCsr(Buffer.from(csr.spec.request, 'base64').toString('utf8'));
  } catch (e) {
    if (!(e instanceof CsrError)) throw e;
    throw invalidError('CertificateSigningRequest', 'certificates.k8s.io', csr.metadata?.name ?? '', [invalid('spec.request', '<request>', e.message)]);
  }
  if (csr.spec.signerName === 'kubernetes.io/kube-apiserver-client' && subject.organizations.includes('system:masters')) {
    throw forbidden(
      'certificatesigningrequests',
      'certificates.k8s.io',
      csr.metadata?.name ?? '',
      'use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed',
    );
  }
}

const isApproval = (c: CertificateSigningRequestCondition) => c.type === 'Approved' || c.type === 'Denied';

/**
 * The stored request after a write to one of its subresources: the spec never
 * changes; `approval` takes the approval conditions from the request and
 * keeps the rest, `status` the other way round.
 */
export function csrMergeSubresource(cur: KubeObject, incoming: KubeObject, subresource: 'status' | 'approval', now: string): KubeObject {
  const old = cur as Csr;
  const next = incoming as Csr;
  const oldConds = old.status?.conditions ?? [];
  const newConds = (next.status?.conditions ?? []).map((c) => stamp(c, oldConds, now));
  const conditions =
    subresource === 'approval'
      ? [...oldConds.filter((c) => !isApproval(c)), ...newConds.filter(isApproval)]
      : [...newConds.filter((c) => !isApproval(c)), ...oldConds.filter(isApproval)];
  const status: CertificateSigningRequest['status'] = subresource === 'approval' ? { ...old.status } : { ...next.status };
  if (subresource === 'approval' && old.status?.certificate) status.certificate = old.status.certificate;
  if (conditions.length) status.conditions = conditions;
  else delete status.conditions;
  return { ...old, status };
}

/** lastUpdateTime and lastTransitionTime as the strategy fills them in: now for a new condition, kept for an unchanged one. */
function stamp(c: CertificateSigningRequestCondition, old: CertificateSigningRequestCondition[], now: string): CertificateSigningRequestCondition {
  const prev = old.find((o) => o.type === c.type);
  const out = { ...c };
  out.lastUpdateTime ??= now;
  if (!out.lastTransitionTime) out.lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
  return out;
}
