/**
 * csrsigning: signs approved requests for the api-server client signers
 * (kubernetes.io/kube-apiserver-client-kubelet and
 * kubernetes.io/kube-apiserver-client) with the cluster CA
 * (--cluster-signing-cert-file / -key-file), for the requested
 * expirationSeconds bounded by --cluster-signing-duration, as
 * kube-controller-manager's signer. A kubelet request that is not what a
 * kubelet asks for, or that cannot be parsed, is marked Failed.
 */
import { CsrError, parseCsr, signCsr } from '@kemu/client/pki';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import { R, ts, type ControllerContext } from '../context.js';
import { clientFor } from '../typed.js';
import { X509Certificate } from 'node:crypto';
import {
  CsrController,
  APISERVER_CLIENT_SIGNER,
  apiserverClientUsageProblem,
  KUBELET_CLIENT_SIGNER,
  condition,
  hasCondition,
  kubeletClientProblem,
  requestPem,
} from './csr-util.js';

const SIGNERS = new Set([KUBELET_CLIENT_SIGNER, APISERVER_CLIENT_SIGNER]);

export class CsrSigningController extends CsrController {
  readonly name = 'csrsigning';

  async sync(name: string): Promise<void> {
    const signing = this.ctx.clusterSigning;
    const csr = this.csrs.lister.get(name);
    if (!signing || !csr || !SIGNERS.has(csr.spec.signerName) || csr.status?.certificate) return;
    if (!hasCondition(csr, 'Approved') || hasCondition(csr, 'Denied') || hasCondition(csr, 'Failed')) return;
    const csrs = clientFor(this.ctx.client, R.certificatesigningrequests);
    const now = this.ctx.now();
    let req;
    try {
      req = parseCsr(requestPem(csr));
    } catch (e) {
      if (!(e instanceof CsrError)) throw e;
      return this.fail(csr, 'SignerValidationFailure', `unable to parse csr: ${e.message}`);
    }
    const problem = csr.spec.signerName === KUBELET_CLIENT_SIGNER ? kubeletClientProblem(req, csr.spec.usages) : apiserverClientUsageProblem(csr.spec.usages);
    if (problem) return this.fail(csr, 'SignerValidationFailure', `invalid certificate request: ${problem}`);
    const caExpires = new X509Certificate(signing.cert).validTo;
    if (Date.parse(caExpires) <= now.getTime())
      return this.fail(csr, 'SignerValidationFailure', `refusing to sign a certificate: the CA expired at ${caExpires}`);
    const seconds = Math.min(csr.spec.expirationSeconds ?? signing.durationSeconds, signing.durationSeconds);
    const pem = signCsr(signing, req, csr.spec.usages ?? [], seconds, now);
    await csrs.update({ ...structuredClone(csr), status: { ...csr.status, certificate: Buffer.from(pem).toString('base64') } }, 'status');
    this.ctx.log.info({ csr: name, subject: req.commonName, seconds }, 'signed certificate');
  }

  private async fail(csr: CertificateSigningRequest, reason: string, message: string): Promise<void> {
    const conditions = [...(csr.status?.conditions ?? []), condition('Failed', reason, message, ts(this.ctx.now()))];
    await clientFor(this.ctx.client, R.certificatesigningrequests).update({ ...structuredClone(csr), status: { ...csr.status, conditions } }, 'status');
  }
}

export const csrSigningController = (ctx: ControllerContext) => new CsrSigningController(ctx);
