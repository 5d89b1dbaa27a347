/**
 * RBAC's escalation prevention: a user may create or change a Role or
 * ClusterRole only with rules it holds itself, and bind a role only when it
 * holds the role's rules — unless it has the `escalate` (roles) or `bind`
 * (bindings) verb, as kube-apiserver's policy-based RBAC storage decides.
 */
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { forbidden, notFound } from '@kemu/api';
import type { UserInfo } from '../http/auth.js';
import { authorize, rulesFor, SYSTEM_MASTERS, type RbacSnapshot } from './rbac.js';

const covered = (owner: string[] | undefined, v: string) => !!owner && (owner.includes('*') || owner.includes(v));

/** Whether `owner` covers a requested resource: `*`, the same, or `*∕sub` for a `res/sub`. */
function resourceCovered(owner: string[] | undefined, resource: string): boolean {
  if (covered(owner, resource)) return true;
  const slash = resource.indexOf('/');
  return slash > 0 && !!owner?.includes(`*${resource.slice(slash)}`);
}

function urlCovered(owner: string[] | undefined, url: string): boolean {
  for (const u of owner ?? []) {
    if (u === '*' || u === url) return true;
    if (u.endsWith('*') && url.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** One rule split into the single grants it makes (a verb on a group's resource, a name; or a verb on a URL). */
function* grants(rule: PolicyRule): Generator<PolicyRule> {
  for (const verb of rule.verbs ?? []) {
    for (const url of rule.nonResourceURLs ?? []) yield { verbs: [verb], nonResourceURLs: [url] };
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        if (rule.resourceNames?.length)
          for (const name of rule.resourceNames) yield { verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name] };
        else yield { verbs: [verb], apiGroups: [group], resources: [resource] };
      }
    }
  }
}

function grantCovered(owner: PolicyRule, g: PolicyRule): boolean {
  if (!covered(owner.verbs, g.verbs[0])) return false;
  if (g.nonResourceURLs) return urlCovered(owner.nonResourceURLs, g.nonResourceURLs[0]);
  if (!covered(owner.apiGroups, g.apiGroups![0]) || !resourceCovered(owner.resources, g.resources![0])) return false;
  if (!owner.resourceNames?.length) return true;
  return !!g.resourceNames && owner.resourceNames.includes(g.resourceNames[0]);
}

/** The grants among `wanted` that no rule of `owner` covers (empty: the owner holds them all). */
export function uncovered(owner: PolicyRule[], wanted: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const rule of wanted) for (const g of grants(rule)) if (!owner.some((o) => grantCovered(o, g))) out.push(g);
  return out;
}

/** kube-apiserver's text for a rule in the escalation message: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`. */
export function describeRule(r: PolicyRule): string {
  const q = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
  const parts: string[] = [];
  if (r.apiGroups) parts.push(`APIGroups:${q(r.apiGroups)}`);
  if (r.resources) parts.push(`Resources:${q(r.resources)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${q(r.resourceNames)}`);
  if (r.nonResourceURLs) parts.push(`NonResourceURLs:${q(r.nonResourceURLs)}`);
  parts.push(`Verbs:${q(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

export interface EscalationCheck {
  snap: RbacSnapshot;
  user: UserInfo;
  /** roles, clusterroles, rolebindings or clusterrolebindings. */
  resource: string;
  namespace?: string;
  name: string;
  /** The rules the new object grants (a role's, or the bound role's); undefined: the bound role does not exist. */
  rules: PolicyRule[] | undefined;
  /** For a binding: the role it refers to, which `bind` may be granted on by name. */
  roleRef?: { kind: string; name: string };
}

/**
 * Throws Forbidden when the user would grant what it does not hold. A binding to a role that does not exist is
 * allowed only to a user with `bind` on it (or system:masters); anyone else gets the NotFound of resolving the role,
 * as kube-apiserver's GetRoleReferenceRules answers — a missing role is no empty grant.
 */
export function confirmNoEscalation(c: EscalationCheck): void {
  if (c.user.groups.includes(SYSTEM_MASTERS)) return;
  const rbac = 'rbac.authorization.k8s.io';
  if (c.roleRef) {
    const resource = c.roleRef.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
    if (authorize(c.snap, c.user, { resourceRequest: true, verb: 'bind', apiGroup: rbac, resource, namespace: c.namespace, name: c.roleRef.name }).allowed)
      return;
    if (!c.rules) throw notFound(resource, rbac, c.roleRef.name);
  } else if (
    authorize(c.snap, c.user, { resourceRequest: true, verb: 'escalate', apiGroup: rbac, resource: c.resource, namespace: c.namespace, name: c.name }).allowed
  ) {
    return;
  }
  const missing = uncovered(rulesFor(c.snap, c.user, c.namespace), c.rules ?? []);
  if (!missing.length) return;
  const groups = c.user.groups.map((g) => JSON.stringify(g)).join(' ');
  const why = `user "${c.user.name}" (groups=[${groups}]) is attempting to grant RBAC permissions not currently held:\n${missing.map(describeRule).join('\n')}`;
  throw forbidden(c.resource, rbac, c.name, why);
}
