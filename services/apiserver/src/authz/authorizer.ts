/**
 * The api-server's authorizer, as kube-apiserver's chain with
 * --authorization-mode=RBAC: the privileged group system:masters, then RBAC
 * over the RBAC objects in the watch caches. One per api-server; the REST
 * and gRPC fronts share it.
 */
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { forbidden, StatusError } from '@kemu/api';
import type { UserInfo } from '../http/auth.js';
import type { WatchCache } from '../storage/watch-cache.js';
import { authorize, forbiddenMessage, rulesFor, type Decision, type RequestAttributes } from './rbac.js';
import { rbacSourceOf, type RbacSource } from './rbac-source.js';

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

export class Authorizer {
  private source: RbacSource;

  constructor(caches: Map<string, WatchCache>) {
    this.source = rbacSourceOf(caches);
  }

  authorize(user: UserInfo, a: RequestAttributes): Decision {
    return authorize(this.source.snapshot(), user, a);
  }

  rules(user: UserInfo, namespace?: string): PolicyRule[] {
    return rulesFor(this.source.snapshot(), user, namespace || undefined);
  }

  /** Throws kube-apiserver's 403 when the request is not allowed; returns the decision otherwise. */
  check(user: UserInfo, a: RequestAttributes): Decision {
    const d = this.authorize(user, a);
    if (!d.allowed) throw refusal(user, a);
    return d;
  }
}

/** kube-apiserver's 403 for a request the authorizer did not allow. */
export function refusal(user: UserInfo, a: RequestAttributes): StatusError {
  if (!a.resourceRequest) return new StatusError(403, 'Forbidden', `forbidden: ${forbiddenMessage(user, a)}`, {});
  return forbidden(a.resource, a.apiGroup, a.name ?? '', forbiddenMessage(user, a));
}
