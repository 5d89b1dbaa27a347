/**
 * RBAC, as kube-apiserver's RBAC authorizer decides: a request is allowed
 * when some ClusterRoleBinding, or some RoleBinding in the request's
 * namespace, names the user (or one of its groups, or its service account)
 * and refers to a role with a rule that matches the request. There is no
 * deny: everything not allowed is refused. Pure functions over a snapshot of
 * the RBAC objects (./rbac-source.ts keeps it current).
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import type { UserInfo } from '../http/auth.js';

/** What a request asks to do, as Kubernetes' authorizer.Attributes. */
export type RequestAttributes =
  | {
      resourceRequest: true;
      verb: string;
      apiGroup: string;
      apiVersion?: string;
      resource: string;
      subresource?: string;
      namespace?: string;
      name?: string;
    }
  | { resourceRequest: false; verb: string; path: string };

export interface RbacSnapshot {
  clusterRoles: Map<string, ClusterRole>;
  /** namespace → name → Role. */
  roles: Map<string, Map<string, Role>>;
  clusterRoleBindings: ClusterRoleBinding[];
  /** namespace → its RoleBindings. */
  roleBindings: Map<string, RoleBinding[]>;
}

export interface Decision {
  allowed: boolean;
  /** Why, as kube-apiserver's RBAC authorizer words it (empty when nothing allowed it). */
  reason: string;
}

export const SYSTEM_MASTERS = 'system:masters';

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return has(rule.verbs, verb);
}

/** `pods`, `pods/log`, `*`, and `*∕scale` (any resource's scale subresource), as RBAC's ResourceMatches. */
export function resourceMatches(rule: PolicyRule, resource: string, subresource?: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

/** An empty resourceNames allows every name; a non-empty one allows only requests that name one of them. */
export function resourceNameMatches(rule: PolicyRule, name?: string): boolean {
  if (!rule.resourceNames?.length) return true;
  return !!name && rule.resourceNames.includes(name);
}

/** `/healthz`, or a prefix ending in `*` (`/api/*`), or `*`. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (!a.resourceRequest) return nonResourceURLMatches(rule, a.path);
  return has(rule.apiGroups, a.apiGroup) && resourceMatches(rule, a.resource, a.subresource) && resourceNameMatches(rule, a.name);
}

/** Whether a binding's subject is this user, as RBAC's appliesToUser (a ServiceAccount subject without a namespace takes the binding's). */
export function subjectMatches(s: Subject, user: UserInfo, bindingNamespace?: string): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return !!ns && user.name === `system:serviceaccount:${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace?: string): string {
  if (s.kind === 'ServiceAccount') return `ServiceAccount "${s.namespace || bindingNamespace}/${s.name}"`;
  return `${s.kind} "${s.name}"`;
}

/** Each binding that applies to the user in this namespace (cluster-wide ones first), with its role's rules. */
export function* applicableRules(snap: RbacSnapshot, user: UserInfo, namespace?: string): Generator<{ rules: PolicyRule[]; source: () => string }> {
  for (const b of snap.clusterRoleBindings) {
    const subject = b.subjects?.find((s) => subjectMatches(s, user));
    if (!subject || b.roleRef.kind !== 'ClusterRole') continue;
    const role = snap.clusterRoles.get(b.roleRef.name);
    if (!role) continue;
    yield {
      rules: role.rules ?? [],
      source: () => `ClusterRoleBinding "${b.metadata?.name}" of ClusterRole "${b.roleRef.name}" to ${describeSubject(subject)}`,
    };
  }
  if (!namespace) return;
  for (const b of snap.roleBindings.get(namespace) ?? []) {
    const subject = b.subjects?.find((s) => subjectMatches(s, user, namespace));
    if (!subject) continue;
    const role = b.roleRef.kind === 'ClusterRole' ? snap.clusterRoles.get(b.roleRef.name) : snap.roles.get(namespace)?.get(b.roleRef.name);
    if (!role) continue;
    yield {
      rules: role.rules ?? [],
      source: () => `RoleBinding "${b.metadata?.name}/${namespace}" of ${b.roleRef.kind} "${b.roleRef.name}" to ${describeSubject(subject, namespace)}`,
    };
  }
}

/** The RBAC decision, with kube-apiserver's "RBAC: allowed by ..." reason. system:masters is always allowed (the privileged-group authorizer before RBAC). */
export function authorize(snap: RbacSnapshot, user: UserInfo, a: RequestAttributes): Decision {
  if (user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };
  const namespace = a.resourceRequest ? a.namespace : undefined;
  for (const { rules, source } of applicableRules(snap, user, namespace)) {
    if (rules.some((r) => ruleAllows(r, a))) return { allowed: true, reason: `RBAC: allowed by ${source()}` };
  }
  return { allowed: false, reason: '' };
}

/** Every rule the user holds in a namespace (cluster-wide ones included): what SelfSubjectRulesReview answers, and what escalation checks compare against. */
export function rulesFor(snap: RbacSnapshot, user: UserInfo, namespace?: string): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const { rules } of applicableRules(snap, user, namespace)) out.push(...rules);
  return out;
}

/**
 * Kubernetes' Forbidden message: `User "u" cannot list resource "pods" in API group "" in the namespace "ns"`
 * (or `at the cluster scope`, or `cannot get path "/metrics"`).
 */
export function forbiddenMessage(user: UserInfo, a: RequestAttributes): string {
  if (!a.resourceRequest) return `User "${user.name}" cannot ${a.verb} path "${a.path}"`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `User "${user.name}" cannot ${a.verb} resource "${res}" in API group "${a.apiGroup}" ${scope}`;
}
