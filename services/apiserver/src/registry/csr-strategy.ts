/**
 * CertificateSigningRequest's strategies (Kubernetes'
 * pkg/registry/certificates/certificates/strategy.go): a new request records
 * who asked (the signer and the approver judge by it) and has no status; the
 * status subresource writes the certificate and conditions other than the
 * approval; the approval subresource writes only Approved and Denied. Pure.
 */
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from 'kubernetes-types/certificates/v1.js';
import type { KubeObject } from '@kemu/api';
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
