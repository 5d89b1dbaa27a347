/**
 * The user a request is served for, carried through the async calls that
 * serve it (Go's request context): the registry's RBAC write checks read it.
 * Writes with no user are the api-server's own (bootstrap, its controllers),
 * which Kubernetes makes as system:apiserver in system:masters.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { UserInfo } from '../http/auth.js';

const storage = new AsyncLocalStorage<UserInfo>();

export function runAs<T>(user: UserInfo, fn: () => T): T {
  return storage.run(user, fn);
}

export function currentUser(): UserInfo | undefined {
  return storage.getStore();
}
