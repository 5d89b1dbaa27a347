/**
 * The user a request is served for, and where its warnings go, carried
 * through the async calls that serve it (Go's request context): the
 * registry's RBAC write checks read the user, admission adds the warnings
 * kubectl prints and annotations for the request's audit event. Writes with no user are the api-server's own (bootstrap,
 * its controllers), which Kubernetes makes as system:apiserver in
 * system:masters.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { UserInfo } from '../http/auth.js';

interface RequestScope {
  user: UserInfo;
  warn: (message: string) => void;
  annotate: (key: string, value: string) => void;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runAs<T>(
  user: UserInfo,
  fn: () => T,
  warn: (message: string) => void = () => undefined,
  annotate: (key: string, value: string) => void = () => undefined,
): T {
  return storage.run({ user, warn, annotate }, fn);
}

export function currentUser(): UserInfo | undefined {
  return storage.getStore()?.user;
}

/** A `Warning: ...` for the client (an HTTP Warning header, code 299), when the call serves a client. */
export function warnClient(message: string): void {
  storage.getStore()?.warn(message);
}

/** An annotation on the request's audit event (Go's audit.AddAuditAnnotation), when the call serves an audited request. */
export function annotate(key: string, value: string): void {
  storage.getStore()?.annotate(key, value);
}
