/**
 * The kubelet's TLS bootstrapping: with no valid client certificate of its
 * own in --cert-dir, the kubelet makes a key and a certificate signing
 * request (CN system:node:NAME, O system:nodes, signer
 * kubernetes.io/kube-apiserver-client-kubelet), sends it with its bootstrap
 * token, waits until the controller-manager has approved and signed it, and
 * keeps the certificate and key as kubelet-client-current.pem, as the
 * kubelet does. From then on it is `system:node:NAME` to the api-server,
 * which the Node authorizer and NodeRestriction hold to its own objects.
 * kemu's keys are RSA 2048 (the kubelet's are ECDSA P-256).
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import { ApiClient, sleep, waitForListener } from '@kemu/client';
import { makeCsr, newKey, type NewKey } from '@kemu/client/pki';
import type { KubeObject } from '@kemu/api';

const CSRS = { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests' };
export const CURRENT = 'kubelet-client-current.pem';

export interface BootstrapOptions {
  apiserver: string;
  caFile: string;
  bootstrapTokenFile: string;
  certDir: string;
  nodeName: string;
}

/** A client certificate and key (PEM). */
export interface ClientCert {
  cert: string;
  key: string;
}

/** Whether a kept certificate is still this node's: its CN, signed by the cluster CA, and not expired (within 10% of its life). */
export function usableCertificate(pem: string, ca: string, nodeName: string, now = Date.now()): ClientCert | undefined {
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(pem)?.[0];
  const key = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----\n?/.exec(pem)?.[0];
  if (!cert || !key) return undefined;
  try {
    const x = new X509Certificate(cert);
    const from = Date.parse(x.validFrom);
    const to = Date.parse(x.validTo);
    if (!x.checkIssued(new X509Certificate(ca)) || !x.subject.split('\n').includes(`CN=system:node:${nodeName}`)) return undefined;
    if (now < from || now > to - (to - from) / 10) return undefined;
    return { cert, key };
  } catch {
    return undefined;
  }
}

/** The node's client certificate: the kept one while usable, else a new one through a CertificateSigningRequest. */
export async function clientCertificate(o: BootstrapOptions, log: Logger, signal?: AbortSignal): Promise<ClientCert> {
  const ca = readFileSync(o.caFile, 'utf8');
  const path = join(o.certDir, CURRENT);
  let kept: string | undefined;
  try {
    kept = readFileSync(path, 'utf8');
  } catch {
    kept = undefined;
  }
  const usable = kept && usableCertificate(kept, ca, o.nodeName);
  if (usable) return usable;
  const token = readFileSync(o.bootstrapTokenFile, 'utf8').trim();
  const key = newKey(); // made while the api-server may still be starting
  await waitForListener(o.apiserver, { signal, onWaiting: () => log.info({ apiserver: o.apiserver }, 'waiting for the api-server') });
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    // A new channel each time: gRPC's own reconnect back-off (1 s growing to 2 min) would otherwise hold a kubelet
    // started with the api-server back for longer than the api-server takes to come up.
    const client = new ApiClient({ address: o.apiserver, ca, token });
    try {
      const issued = await requestCertificate(client, o.nodeName, await key, log, signal);
      mkdirSync(o.certDir, { recursive: true, mode: 0o700 });
      writeFileSync(`${path}.tmp`, issued.cert + issued.key, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
      log.info({ node: o.nodeName, file: path }, 'client certificate issued (TLS bootstrap)');
      return issued;
    } catch (e) {
      if (signal?.aborted) throw e;
      log.warn({ err: e, attempt }, 'TLS bootstrap failed; retrying');
      await sleep(Math.min(250 * 2 ** attempt, 5_000));
    } finally {
      client.close();
    }
  }
}

/** One request: create it, then wait for the certificate (or a denial) on it. */
async function requestCertificate(client: ApiClient, nodeName: string, k: NewKey, log: Logger, signal?: AbortSignal): Promise<ClientCert> {
  const pem = makeCsr(k, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] });
  const body: CertificateSigningRequest = {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { generateName: 'csr-' },
    spec: {
      request: Buffer.from(pem).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: ['digital signature', 'key encipherment', 'client auth'],
    },
  };
  const created = (await client.create(CSRS, body as KubeObject)) as CertificateSigningRequest;
  const name = created.metadata?.name ?? '';
  log.info({ csr: name }, 'certificate signing request sent; waiting for it to be approved and signed');
  // The kubelet waits up to an hour for its request to be approved (by hand, where nothing approves it at once).
  const deadline = Date.now() + 3_600_000;
  for (let wait = 50; Date.now() < deadline; wait = Math.min(wait * 2, 250)) {
    await sleep(wait);
    signal?.throwIfAborted();
    const csr = (await client.get(CSRS, name)) as CertificateSigningRequest;
    const bad = csr.status?.conditions?.find((c) => c.type === 'Denied' || c.type === 'Failed');
    if (bad) throw new Error(`certificate signing request ${name} ${bad.type.toLowerCase()}: ${bad.reason ?? ''} ${bad.message ?? ''}`);
    if (csr.status?.certificate) return { cert: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), key: k.pem };
  }
  throw new Error(`certificate signing request ${name} was not signed within an hour`);
}
