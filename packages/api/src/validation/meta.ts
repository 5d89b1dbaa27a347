/** ObjectMeta validation on create and update, as Kubernetes' ValidateObjectMeta. */
import { type FieldError, required, invalid, forbiddenField, tooLong } from '../field-errors.js';
import type { ObjectMeta } from '../types.js';
import { qualifiedName, labelValue, dns1123Subdomain } from './names.js';
import { jsonEqual } from '../types.js';

export type NameValidator = (name: string) => string[];

const ANNOTATIONS_MAX = 256 * 1024;

export function validateLabels(labels: unknown, field: string): FieldError[] {
  const out: FieldError[] = [];
  if (labels === undefined || labels === null) return out;
  if (typeof labels !== 'object' || Array.isArray(labels)) return [invalid(field, labels, 'must be a map of string keys to string values')];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const m of qualifiedName(k)) out.push(invalid(field, k, m));
    if (typeof v !== 'string') out.push(invalid(`${field}`, v, 'label values must be strings'));
    else for (const m of labelValue(v)) out.push(invalid(field, v, m));
  }
  return out;
}

export function validateAnnotations(ann: unknown, field: string): FieldError[] {
  const out: FieldError[] = [];
  if (ann === undefined || ann === null) return out;
  if (typeof ann !== 'object' || Array.isArray(ann)) return [invalid(field, ann, 'must be a map of string keys to string values')];
  let size = 0;
  for (const [k, v] of Object.entries(ann as Record<string, unknown>)) {
    for (const m of qualifiedName(k.toLowerCase())) out.push(invalid(field, k, m));
    if (typeof v !== 'string') out.push(invalid(field, v, 'annotation values must be strings'));
    size += k.length + String(v).length;
  }
  if (size > ANNOTATIONS_MAX) out.push(tooLong(field, ANNOTATIONS_MAX));
  return out;
}

/** Validate metadata of a new object. */
export function validateObjectMeta(meta: ObjectMeta | undefined, namespaced: boolean, nameFn: NameValidator): FieldError[] {
  const out: FieldError[] = [];
  if (!meta || typeof meta !== 'object') return [required('metadata')];
  if (!meta.name) {
    if (!meta.generateName) out.push(required('metadata.name', 'name or generateName is required'));
  } else if (typeof meta.name !== 'string') out.push(invalid('metadata.name', meta.name, 'must be a string'));
  else for (const m of nameFn(meta.name)) out.push(invalid('metadata.name', meta.name, m));
  if (meta.generateName && typeof meta.generateName === 'string' && !meta.name) {
    // generateName is checked with a suffix added later; check its prefix alone.
    const trimmed = meta.generateName.replace(/-$/, '') || 'a';
    for (const m of nameFn(trimmed)) out.push(invalid('metadata.generateName', meta.generateName, m));
  }
  if (namespaced) {
    if (!meta.namespace) out.push(required('metadata.namespace'));
  } else if (meta.namespace) out.push(forbiddenField('metadata.namespace', 'not allowed on this type'));
  out.push(...validateLabels(meta.labels, 'metadata.labels'));
  out.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  if (meta.finalizers !== undefined) {
    if (!Array.isArray(meta.finalizers)) out.push(invalid('metadata.finalizers', meta.finalizers, 'must be a list'));
    else
      meta.finalizers.forEach((f, i) => {
        for (const m of qualifiedName(String(f))) out.push(invalid(`metadata.finalizers[${i}]`, f, m));
      });
  }
  if (meta.ownerReferences !== undefined) {
    if (!Array.isArray(meta.ownerReferences)) out.push(invalid('metadata.ownerReferences', meta.ownerReferences, 'must be a list'));
    else {
      let controllers = 0;
      meta.ownerReferences.forEach((o, i) => {
        const f = `metadata.ownerReferences[${i}]`;
        if (!o?.apiVersion) out.push(invalid(`${f}.apiVersion`, o?.apiVersion ?? '', 'version must not be empty'));
        if (!o?.kind) out.push(invalid(`${f}.kind`, o?.kind ?? '', 'kind must not be empty'));
        if (!o?.name) out.push(invalid(`${f}.name`, o?.name ?? '', 'name must not be empty'));
        if (!o?.uid) out.push(invalid(`${f}.uid`, o?.uid ?? '', 'uid must not be empty'));
        if (o?.controller) controllers++;
      });
      if (controllers > 1) out.push(invalid('metadata.ownerReferences', meta.ownerReferences, 'Only one reference can have Controller set to true'));
    }
  }
  return out;
}

/** What may not change between the stored object and an update of it. */
export function validateObjectMetaUpdate(next: ObjectMeta, old: ObjectMeta): FieldError[] {
  const out: FieldError[] = [];
  const immutable = (field: keyof ObjectMeta) => {
    if (next[field] !== undefined && !jsonEqual(next[field], old[field])) {
      out.push(invalid(`metadata.${field}`, next[field], 'field is immutable'));
    }
  };
  immutable('name');
  immutable('namespace');
  immutable('uid');
  immutable('creationTimestamp');
  return out;
}

export const subdomainName: NameValidator = dns1123Subdomain;
