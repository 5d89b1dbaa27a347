/**
 * csrapproving: approves a kubelet's client certificate request when its
 * requester may have one — a SubjectAccessReview of `create` on
 * certificatesigningrequests/nodeclient (a bootstrap token's group, as
 * kubeadm binds it) or /selfnodeclient (a node renewing its own) — as
 * kube-controller-manager's sarApprover. Other requests are left for
 * someone else (`kubectl certificate approve`).
 */
import { CsrError, parseCsr } from '@kemu/client/pki';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import type { SubjectAccessReview } from 'kubernetes-types/authorization/v1.js';
import { R, ts, type ControllerContext } from '../context.js';
import { clientFor } from '../typed.js';
import { CsrController, KUBELET_CLIENT_SIGNER, approvalSubresources, condition, decided, kubeletClientProblem, requestPem } from './csr-util.js';

const SAR = { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews' };

export class CsrApprovingController extends CsrController {
  readonly name = 'csrapproving';

  async sync(name: string): Promise<void> {
    const csr = this.csrs.lister.get(name);
    if (!csr || csr.spec.signerName !== KUBELET_CLIENT_SIGNER || decided(csr) || csr.status?.certificate) return;
    let subject;
    try {
      subject = parseCsr(requestPem(csr));
    } catch (e) {
      if (e instanceof CsrError) return; // the signer fails it
      throw e;
    }
    if (kubeletClientProblem(subject, csr.spec.usages)) return;
    let sub: string | undefined;
    for (const s of approvalSubresources(csr, subject)) if (!sub && (await this.allowed(csr, s))) sub = s;
    if (!sub) return;
    const message =
      sub === 'selfnodeclient'
        ? 'Auto approving self kubelet client certificate after SubjectAccessReview.'
        : 'Auto approving kubelet client certificate after SubjectAccessReview.';
    const approved = {
      ...structuredClone(csr),
      status: { ...csr.status, conditions: [...(csr.status?.conditions ?? []), condition('Approved', 'AutoApproved', message, ts(this.ctx.now()))] },
    };
    await clientFor(this.ctx.client, R.certificatesigningrequests).update(approved, 'approval');
    this.ctx.log.info({ csr: name, requester: csr.spec.username }, 'approved kubelet client certificate request');
  }

  /** Whether the requester may create the request's approval subresource: the api-server's SubjectAccessReview. */
  private async allowed(csr: CertificateSigningRequest, subresource: string): Promise<boolean> {
    const review: SubjectAccessReview = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: csr.spec.username,
        uid: csr.spec.uid,
        groups: csr.spec.groups,
        extra: csr.spec.extra,
        resourceAttributes: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', verb: 'create', subresource },
      },
    };
    const answer = (await this.ctx.client.create(SAR, { ...review, metadata: {} })) as SubjectAccessReview;
    return answer.status?.allowed === true;
  }
}

export const csrApprovingController = (ctx: ControllerContext) => new CsrApprovingController(ctx);
