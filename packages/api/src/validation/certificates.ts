/**
 * certificates.k8s.io/v1 CertificateSigningRequest, as Kubernetes'
 * pkg/apis/certificates/validation: a PEM request, a qualified signer name,
 * known key usages, and approval conditions that do not contradict each
 * other. Whether the request's own signature holds is the signer's to judge
 * (it fails the request), as the api-server here cannot parse it.
 */
import { type FieldError, duplicate, forbiddenField, invalid, notSupported, required } from '../field-errors.js';
import { isPlainObject, jsonEqual } from '../types.js';

export const KEY_USAGES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
];

const CONDITION_TYPES = ['Approved', 'Denied', 'Failed'];

/** The PEM blocks of base64 `data` (a []byte field), by type; undefined when it is not base64 of PEM. */
export function pemBlockTypes(data: unknown): string[] | undefined {
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return undefined;
  const text = Buffer.from(data, 'base64').toString('latin1');
  const types = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].map((m) => m[1]);
  return types.length ? types : undefined;
}

/** A signer name: a fully qualified domain and a path, `example.com/signer-name`. */
function signerNameErrors(name: string): string | undefined {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+)\/([^/]+)$/.exec(name);
  if (!m || name.length > 571) return "signerName must be a fully qualified domain and path of the form 'example.com/signer-name'";
  return undefined;
}

export function validateCertificateSigningRequest(obj: Record<string, unknown>): FieldError[] {
  const out: FieldError[] = [];
  const spec = isPlainObject(obj.spec) ? obj.spec : {};
  if (spec.request === undefined || spec.request === '') out.push(required('spec.request', ''));
  else if (pemBlockTypes(spec.request)?.[0] !== 'CERTIFICATE REQUEST') {
    out.push(invalid('spec.request', spec.request, 'PEM block type must be CERTIFICATE REQUEST'));
  }
  const signer = typeof spec.signerName === 'string' ? spec.signerName : '';
  if (!signer) out.push(required('spec.signerName', 'signerName must be provided'));
  else {
    const e = signerNameErrors(signer);
    if (e) out.push(invalid('spec.signerName', signer, e));
  }
  const usages = Array.isArray(spec.usages) ? (spec.usages as unknown[]) : [];
  if (!usages.length) out.push(required('spec.usages', 'usages must be provided'));
  const seen = new Set<unknown>();
  usages.forEach((u, i) => {
    if (typeof u !== 'string' || !KEY_USAGES.includes(u)) out.push(notSupported(`spec.usages[${i}]`, u, KEY_USAGES));
    else if (seen.has(u)) out.push(duplicate(`spec.usages[${i}]`, u));
    seen.add(u);
  });
  if (typeof spec.expirationSeconds === 'number' && spec.expirationSeconds < 600) {
    out.push(invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
  }
  out.push(...statusErrors(obj.status));
  return out;
}

function statusErrors(status: unknown): FieldError[] {
  const out: FieldError[] = [];
  if (!isPlainObject(status)) return out;
  const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]) : [];
  const types = new Set<string>();
  conditions.forEach((c, i) => {
    const type = isPlainObject(c) && typeof c.type === 'string' ? c.type : '';
    const st = isPlainObject(c) && typeof c.status === 'string' ? c.status : undefined;
    if (!type) out.push(required(`status.conditions[${i}].type`, ''));
    else if (types.has(type)) out.push(duplicate(`status.conditions[${i}].type`, type));
    if (st === undefined || st === '') out.push(required(`status.conditions[${i}].status`, ''));
    else if (!['True', 'False', 'Unknown'].includes(st)) {
      out.push(notSupported(`status.conditions[${i}].status`, st, ['False', 'True', 'Unknown']));
    }
    if (CONDITION_TYPES.includes(type) && st !== undefined && st !== 'True') {
      out.push(notSupported(`status.conditions[${i}].status`, st, ['True']));
    }
    types.add(type);
  });
  if (types.has('Approved') && types.has('Denied')) {
    out.push(invalid('status.conditions', conditions, 'Approved and Denied conditions are mutually exclusive'));
  }
  if (status.certificate !== undefined && status.certificate !== '') {
    const blocks = pemBlockTypes(status.certificate);
    if (!blocks || blocks.some((b) => b !== 'CERTIFICATE'))
      out.push(invalid('status.certificate', '<certificate data>', 'only CERTIFICATE PEM blocks are allowed'));
  }
  return out;
}

/** An update: the spec never changes, and an issued certificate stays as it is. */
export function validateCertificateSigningRequestUpdate(next: Record<string, unknown>, old: Record<string, unknown>): FieldError[] {
  const out: FieldError[] = [];
  if (!jsonEqual(next.spec, old.spec)) out.push(invalid('spec', '<spec>', 'field is immutable'));
  const oldCert = isPlainObject(old.status) ? old.status.certificate : undefined;
  const cert = isPlainObject(next.status) ? next.status.certificate : undefined;
  if (oldCert && cert !== oldCert) out.push(invalid('status.certificate', '<certificate data>', 'updates may not modify existing certificate content'));
  // Approved, Denied and Failed stay once given: a denied request cannot be approved later.
  const typesOf = (o: Record<string, unknown>) =>
    new Set(
      (isPlainObject(o.status) && Array.isArray(o.status.conditions) ? (o.status.conditions as unknown[]) : []).map((c) =>
        isPlainObject(c) ? c.type : undefined,
      ),
    );
  const now = typesOf(next);
  for (const t of CONDITION_TYPES) {
    if (typesOf(old).has(t) && !now.has(t)) out.push(forbiddenField('status.conditions', `updates may not remove a condition of type "${t}"`));
  }
  return out;
}
