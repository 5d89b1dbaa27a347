/**
 * Field errors, as Kubernetes' field.ErrorList: each names the path of the
 * field, what is wrong and the offending value; together they become a 422
 * Invalid Status whose message lists every cause.
 */
import { StatusError, type StatusCause } from './errors.js';
import { jsonText } from './json.js';

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTypeInvalid';

export interface FieldError {
  type: FieldErrorType;
  field: string;
  value?: unknown;
  detail?: string;
}

/**
 * A bad value as Kubernetes prints it: strings quoted, a missing value as null, a list of strings as Go's %#v
 * (`[]string{"a", "b"}`, as field.Error prints a []string such as spec.clusterIPs), the rest as JSON.
 */
function show(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`;
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return `[]string{${v.map(show).join(', ')}}`;
  return jsonText(v);
}

/** The message Kubernetes prints for one field error. */
export function fieldErrorMessage(e: FieldError): string {
  switch (e.type) {
    case 'FieldValueRequired':
      return `${e.field}: Required value${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueForbidden':
      return `${e.field}: Forbidden${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueDuplicate':
      return `${e.field}: Duplicate value: ${show(e.value)}`;
    case 'FieldValueNotSupported':
      return `${e.field}: Unsupported value: ${show(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueTooLong':
      return `${e.field}: Too long: ${e.detail ?? ''}`;
    case 'FieldValueTooMany':
      return `${e.field}: Too many: ${e.detail ?? ''}`;
    case 'FieldValueTypeInvalid':
      return `${e.field}: Invalid value: ${show(e.value)}: ${e.detail ?? ''}`;
    default:
      return `${e.field}: Invalid value: ${show(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
  }
}

export const required = (field: string, detail?: string): FieldError => ({ type: 'FieldValueRequired', field, detail });
export const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  value,
  detail,
});
export const notSupported = (field: string, value: unknown, valid: string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  value,
  detail: `supported values: ${valid.map((v) => `"${v}"`).join(', ')}`,
});
export const duplicate = (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value });
export const forbiddenField = (field: string, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  detail,
});
export const tooLong = (field: string, max: number): FieldError => ({
  type: 'FieldValueTooLong',
  field,
  detail: `may not be more than ${max} bytes`,
});

/**
 * The 422 for a list of field errors: `Deployment.apps "x" is invalid: a, b`
 * (Kubernetes writes `[a, b]` when there is more than one).
 */
export function invalidError(kind: string, group: string, name: string, errs: FieldError[]): StatusError {
  const msgs = errs.map(fieldErrorMessage);
  const what = group ? `${kind}.${group}` : kind;
  const list = msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
  const causes: StatusCause[] = errs.map((e, i) => ({
    reason: e.type,
    message: msgs[i].slice(e.field.length + 2),
    field: e.field,
  }));
  return new StatusError(422, 'Invalid', `${what} "${name}" is invalid: ${list}`, {
    name,
    group: group || undefined,
    kind,
    causes,
  });
}
