/**
 * What the api-server learned about one HTTP request while serving it — who
 * made it and what it asked for — kept beside the request, so the layers
 * around the handler (flow control, audit) read it without authenticating or
 * routing again. The handler fills it; everything else only reads it.
 */
import type { IncomingMessage } from 'node:http';
import type { UserInfo } from './auth.js';

export interface RequestContext {
  /** The authenticated (or anonymous) user; after impersonation, the impersonated one. */
  user?: UserInfo;
  /** The user who really sent the request, when it impersonated another. */
  impersonatedBy?: UserInfo;
  /** Kubernetes' request verb: get, list, watch, create, update, patch, delete, deletecollection (or the HTTP method, lower-case, for a non-resource path). */
  verb?: string;
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** Why the request was allowed or refused, as the authorizer said. */
  authorization?: { allowed: boolean; reason: string };
  /** What admission noted for the audit event (PodSecurity's audit-violations, enforce-policy). */
  auditAnnotations?: Record<string, string>;
}

const contexts = new WeakMap<IncomingMessage, RequestContext>();

/** The context of a request, made on first use. */
export function requestContext(req: IncomingMessage): RequestContext {
  let c = contexts.get(req);
  if (!c) contexts.set(req, (c = {}));
  return c;
}

/** Note an annotation for the request's audit event; a key already set keeps its first value, as Go's audit.AddAuditAnnotation. */
export function addAuditAnnotation(req: IncomingMessage, key: string, value: string): void {
  const c = requestContext(req);
  c.auditAnnotations ??= {};
  if (!(key in c.auditAnnotations)) c.auditAnnotations[key] = value;
}
