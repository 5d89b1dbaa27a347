/**
 * The api-server's authorizer, as kube-apiserver's chain with
 * --authorization-mode=Node,RBAC: the privileged group system:masters, the
 * Node authorizer for kubelets' credentials, then RBAC over the RBAC objects
 * in the watch caches. One per api-server; the REST and gRPC fronts share it.
 */
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { forbidden, StatusError } from '@kemu/api';
import type { UserInfo } from '../http/auth.js';
import type { WatchCache } from '../storage/watch-cache.js';
import { authorize, forbiddenMessage, rulesFor, type Decision, type RequestAttributes } from './rbac.js';
import { rbacSourceOf, type RbacSource } from './rbac-source.js';
import { authorizeNode } from './node-authorizer.js';
import { BOOTSTRAP_CLUSTER_ROLES } from './bootstrap-policy.js';
import type { Pod } from 'kubernetes-types/core/v1.js';

/** The Node authorizer's rules: the system:node role as compiled in (kube-apiserver's NodeRules), not as stored. */
const NODE_RULES: PolicyRule[] = BOOTSTRAP_CLUSTER_ROLES.find((r) => r.metadata?.name === 'system:node')?.rules ?? [];

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

export class Authorizer {
  private source: RbacSource;

  constructor(private caches: Map<string, WatchCache>) {
    this.source = rbacSourceOf(caches);
  }

  authorize(user: UserInfo, a: RequestAttributes): Decision {
    const byNode = authorizeNode(user, a, NODE_RULES, (ns, node) => this.podsOn(ns, node));
    if (byNode?.allowed) return byNode;
    const byRbac = authorize(this.source.snapshot(), user, a);
    // A node's refusal says why (kube-apiserver appends the Node authorizer's reason to the 403).
    return byRbac.allowed || !byNode ? byRbac : byNode;
  }

  /** The pods of a namespace bound to a node, from the watch cache. */
  private podsOn(namespace: string, node: string): Pod[] {
    const items = this.caches.get('pods')?.list({ namespace, labels: [], fields: [{ field: 'spec.nodeName', op: '=', value: node }] }).items ?? [];
    return items as Pod[];
  }

  rules(user: UserInfo, namespace?: string): PolicyRule[] {
    return rulesFor(this.source.snapshot(), user, namespace || undefined);
  }

  /** Throws kube-apiserver's 403 when the request is not allowed; returns the decision otherwise. */
  check(user: UserInfo, a: RequestAttributes): Decision {
    const d = this.authorize(user, a);
    if (!d.allowed) throw refusal(user, a, d.reason);
    return d;
  }
}

/** kube-apiserver's 403 for a request the authorizer did not allow. */
export function refusal(user: UserInfo, a: RequestAttributes, reason = ''): StatusError {
  const message = forbiddenMessage(user, a) + (reason ? `: ${reason}` : '');
  if (!a.resourceRequest) return new StatusError(403, 'Forbidden', `forbidden: ${message}`, {});
  return forbidden(a.resource, a.apiGroup, a.name ?? '', message);
}
