/**
 * What the certificate controllers decide, as Kubernetes'
 * pkg/controller/certificates: whether a request is a kubelet's client
 * certificate request (CN system:node:NAME, O exactly system:nodes, the
 * kubelet client usages), whether it asks for its own renewal, and the
 * state its conditions put it in (pure); and the queue both controllers
 * share.
 */
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from 'kubernetes-types/certificates/v1.js';
import { WorkQueue } from '@kemu/client';
import type { CsrSubject } from '@kemu/client/pki';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { informerFor, type TypedInformer } from '../typed.js';

export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';

/** The usages a kubelet client certificate may ask for (with or without key encipherment: RSA or ECDSA keys). */
const KUBELET_CLIENT_USAGES = [new Set(['digital signature', 'client auth']), new Set(['key encipherment', 'digital signature', 'client auth'])];

export function hasCondition(csr: CertificateSigningRequest, type: string): boolean {
  return (csr.status?.conditions ?? []).some((c) => c.type === type && c.status !== 'False');
}

/** Approved or denied already: the approver has nothing more to say. */
export const decided = (csr: CertificateSigningRequest): boolean => hasCondition(csr, 'Approved') || hasCondition(csr, 'Denied');

/** Why a request is not a kubelet client certificate request (ValidateKubeletClientCSR), or undefined when it is. */
export function kubeletClientProblem(subject: CsrSubject, usages: readonly string[] | undefined): string | undefined {
  if (subject.organizations.length !== 1 || subject.organizations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
  if (!subject.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  const asked = new Set(usages ?? []);
  if (!KUBELET_CLIENT_USAGES.some((u) => u.size === asked.size && [...u].every((x) => asked.has(x)))) {
    return 'usages did not match [digital signature client auth] or [key encipherment digital signature client auth]';
  }
  return undefined;
}

/** Why usages are not a client certificate's (the signer's validAPIServerClientUsages), or undefined. */
export function apiserverClientUsageProblem(usages: readonly string[] | undefined): string | undefined {
  for (const u of usages ?? []) if (!['digital signature', 'key encipherment', 'client auth'].includes(u)) return `invalid usage for client certificate: ${u}`;
  return (usages ?? []).includes('client auth') ? undefined : 'missing required usage for client certificate: client auth';
}

/** The subresources an approver checks, in sarApprover's order: a node renewing its own certificate, then a bootstrapper. */
export function approvalSubresources(csr: CertificateSigningRequest, subject: CsrSubject): ('selfnodeclient' | 'nodeclient')[] {
  return csr.spec.username === subject.commonName ? ['selfnodeclient', 'nodeclient'] : ['nodeclient'];
}

export function condition(type: string, reason: string, message: string, now: string): CertificateSigningRequestCondition {
  return { type, status: 'True', reason, message, lastUpdateTime: now, lastTransitionTime: now };
}

/** The PEM text of a request's spec.request ([]byte, base64 in JSON). */
export const requestPem = (csr: CertificateSigningRequest): string => Buffer.from(csr.spec.request, 'base64').toString('utf8');

/** What both certificate controllers are: a queue of request names, fed by the requests' informer, and a sync. */
export abstract class CsrController implements Controller {
  abstract readonly name: string;
  protected queue = new WorkQueue();
  protected csrs: TypedInformer<CertificateSigningRequest>;

  constructor(protected ctx: ControllerContext) {
    this.csrs = informerFor(ctx.informers, R.certificatesigningrequests);
    this.csrs.on({ add: (o) => this.queue.add(o.metadata.name!), update: (_a, b) => this.queue.add(b.metadata.name!) });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  abstract sync(name: string): Promise<void>;
}
