/**
 * One audit.k8s.io/v1 Event, built from what is known of a request at one
 * stage. Field names and omissions as kube-apiserver writes them. Pure.
 */
import type { UserInfo } from '../http/auth.js';
import type { RequestInfo } from '../http/request-info.js';
import type { Level, Stage } from './policy.js';

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: Level;
  auditID: string;
  stage: Stage;
  requestURI: string;
  verb: string;
  user: { username: string; groups: string[] };
  impersonatedUser?: { username: string; groups: string[] };
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string; subresource?: string };
  responseStatus?: { metadata: Record<string, never>; code: number; status?: string; message?: string; reason?: string };
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

export interface AuditFacts {
  auditID: string;
  level: Level;
  stage: Stage;
  requestURI: string;
  info: RequestInfo;
  /** Who sent the request (before any impersonation). */
  user: UserInfo;
  /** Who it acted as, when it impersonated someone. */
  impersonatedUser?: UserInfo;
  sourceIPs: string[];
  userAgent?: string;
  received: Date;
  now: Date;
  code?: number;
  /** The response body, when it was a Status (an error): its message and reason go into responseStatus. */
  responseBody?: unknown;
  requestObject?: unknown;
  responseObject?: unknown;
  authorization?: { allowed: boolean; reason: string };
  /** Annotations admission added while serving the request. */
  annotations?: Record<string, string>;
}

const userOf = (u: UserInfo) => ({ username: u.name, groups: u.groups });

/** Microsecond timestamps, as kube-apiserver's (metav1.MicroTime). */
function micro(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function statusOf(code: number, body: unknown): AuditEvent['responseStatus'] {
  const rs: NonNullable<AuditEvent['responseStatus']> = { metadata: {}, code };
  if (body && typeof body === 'object' && (body as { kind?: unknown }).kind === 'Status') {
    const s = body as { status?: unknown; message?: unknown; reason?: unknown };
    if (typeof s.status === 'string') rs.status = s.status;
    if (typeof s.message === 'string') rs.message = s.message;
    if (typeof s.reason === 'string') rs.reason = s.reason;
  }
  return rs;
}

export function auditEvent(f: AuditFacts): AuditEvent {
  const i = f.info;
  const e: AuditEvent = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: f.level,
    auditID: f.auditID,
    stage: f.stage,
    requestURI: f.requestURI,
    verb: i.verb,
    user: userOf(f.user),
    ...(f.impersonatedUser ? { impersonatedUser: userOf(f.impersonatedUser) } : {}),
    sourceIPs: f.sourceIPs,
    ...(f.userAgent ? { userAgent: f.userAgent } : {}),
    requestReceivedTimestamp: micro(f.received),
    stageTimestamp: micro(f.now),
  };
  if (i.isResourceRequest) {
    const ref: NonNullable<AuditEvent['objectRef']> = { resource: i.resource };
    if (i.namespace) ref.namespace = i.namespace;
    if (i.name) ref.name = i.name;
    if (i.apiGroup) ref.apiGroup = i.apiGroup;
    ref.apiVersion = i.apiVersion;
    if (i.subresource) ref.subresource = i.subresource;
    e.objectRef = ref;
  }
  if (f.code !== undefined) e.responseStatus = statusOf(f.code, f.responseBody);
  if ((f.level === 'Request' || f.level === 'RequestResponse') && f.requestObject !== undefined) e.requestObject = f.requestObject;
  if (f.level === 'RequestResponse' && f.responseObject !== undefined) e.responseObject = f.responseObject;
  const annotations: Record<string, string> = {
    ...(f.authorization
      ? { 'authorization.k8s.io/decision': f.authorization.allowed ? 'allow' : 'forbid', 'authorization.k8s.io/reason': f.authorization.reason }
      : {}),
    ...f.annotations,
  };
  if (Object.keys(annotations).length) e.annotations = annotations;
  return e;
}
