/**
 * Typed errors that carry a Kubernetes `Status`, and the constructors for the
 * reasons the api-server answers with. Messages follow Kubernetes' wording
 * exactly: clients (and people) match on them.
 */

/** A cause inside `Status.details.causes`. */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that is answered to the client as the Status it carries. */
export class StatusError extends Error {
  readonly status: Status;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
    this.status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    };
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string {
    return this.status.reason ?? '';
  }
  /** Rebuild a StatusError from a Status received over the wire. */
  static fromStatus(s: Partial<Status>): StatusError {
    return new StatusError(s.code ?? 500, s.reason ?? 'InternalError', s.message ?? '', s.details);
  }
}

/** `pods`, `deployments.apps`: how Kubernetes names a resource in messages. */
export function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(resource: string, group: string, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, {
    name,
    group: group || undefined,
    kind: resource,
  });
}

export function alreadyExists(resource: string, group: string, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, {
    name,
    group: group || undefined,
    kind: resource,
  });
}

export function conflict(resource: string, group: string, name: string, why: string): StatusError {
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, {
    name,
    group: group || undefined,
    kind: resource,
  });
}

export const MODIFIED_CONFLICT = 'the object has been modified; please apply your changes to the latest version and try again';

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

export function forbidden(resource: string, group: string, name: string, why: string): StatusError {
  const what = name ? `${qualified(resource, group)} "${name}"` : qualified(resource, group);
  return new StatusError(403, 'Forbidden', `${what} is forbidden: ${why}`, {
    name: name || undefined,
    group: group || undefined,
    kind: resource,
  });
}

export function methodNotAllowed(resource: string, group: string, verb: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {
    group: group || undefined,
    kind: resource,
    causes: [{ reason: 'MethodNotAllowed', message: `verb ${verb} is not supported` }],
  });
}

export function unsupportedMediaType(contentType: string): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${contentType || 'none'})`,
  );
}

export function entityTooLarge(limit: number): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function gone(message: string): StatusError {
  return new StatusError(410, 'Gone', message);
}

export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ reason: '', message }],
  });
}

export function serviceUnavailable(message: string): StatusError {
  return new StatusError(503, 'ServiceUnavailable', message);
}

export function timeout(message: string): StatusError {
  return new StatusError(504, 'Timeout', message);
}

export const isNotFound = (e: unknown): boolean => e instanceof StatusError && e.reason === 'NotFound';
export const isAlreadyExists = (e: unknown): boolean => e instanceof StatusError && e.reason === 'AlreadyExists';
export const isConflict = (e: unknown): boolean => e instanceof StatusError && e.reason === 'Conflict';
export const isInvalid = (e: unknown): boolean => e instanceof StatusError && e.reason === 'Invalid';
export const isGone = (e: unknown): boolean => e instanceof StatusError && (e.reason === 'Expired' || e.reason === 'Gone');
