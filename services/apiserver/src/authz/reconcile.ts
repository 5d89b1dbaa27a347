/**
 * Reconciling the default RBAC policy at every start, as kube-apiserver's
 * rbac/bootstrap-roles post-start hook: a missing default role or binding is
 * created; one still annotated `rbac.authorization.kubernetes.io/autoupdate:
 * "true"` gets back the rules, subjects, labels and annotations it lost (it
 * keeps what was added); one whose annotation was set to "false" is left as
 * it is.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Subject } from 'kubernetes-types/rbac/v1.js';
import { isAlreadyExists, isNotFound, lookupResource, type KubeObject } from '@kemu/api';
import type { RestStore } from '../registry/rest.js';
import { BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES } from './bootstrap-policy.js';

const AUTOUPDATE = 'rbac.authorization.kubernetes.io/autoupdate';
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A copy of `cur` with the default's labels and annotations added, or undefined when it opted out of updates. */
function withDefaultMetadata<T extends ClusterRole | ClusterRoleBinding>(cur: T, want: T): T | undefined {
  if (cur.metadata?.annotations?.[AUTOUPDATE] === 'false') return undefined;
  const next = structuredClone(cur);
  next.metadata = {
    ...next.metadata,
    labels: { ...next.metadata?.labels, ...want.metadata?.labels },
    annotations: { ...want.metadata?.annotations, ...next.metadata?.annotations },
  };
  return next;
}

/** The role as reconciled: missing rules, labels and annotations added (aggregated roles' rules are the aggregation controller's). */
export function reconcileRole(cur: ClusterRole, want: ClusterRole): ClusterRole | undefined {
  const next = withDefaultMetadata(cur, want);
  if (!next) return undefined;
  if (want.aggregationRule) next.aggregationRule = want.aggregationRule;
  else {
    const rules: PolicyRule[] = [...(cur.rules ?? [])];
    for (const r of want.rules ?? []) if (!rules.some((x) => same(x, r))) rules.push(r);
    next.rules = rules;
  }
  return same(next, cur) ? undefined : next;
}

export function reconcileBinding(cur: ClusterRoleBinding, want: ClusterRoleBinding): ClusterRoleBinding | undefined {
  const next = withDefaultMetadata(cur, want);
  if (!next) return undefined;
  const subjects: Subject[] = [...(cur.subjects ?? [])];
  for (const s of want.subjects ?? [])
    if (!subjects.some((x) => x.kind === s.kind && x.name === s.name && (x.namespace ?? '') === (s.namespace ?? ''))) subjects.push(s);
  next.subjects = subjects;
  return same(next, cur) ? undefined : next;
}

export async function reconcileDefaultPolicy(rest: RestStore): Promise<void> {
  const roles = lookupResource('rbac.authorization.k8s.io', 'v1', 'clusterroles')!;
  const bindings = lookupResource('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings')!;
  const ensure = async <T extends ClusterRole | ClusterRoleBinding>(info: typeof roles, want: T, reconcile: (cur: T, want: T) => T | undefined) => {
    const name = want.metadata!.name!;
    for (let attempt = 0; attempt < 5; attempt++) {
      let cur: T;
      try {
        cur = (await rest.get(info, undefined, name)) as unknown as T;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        try {
          await rest.create(info, undefined, want as unknown as KubeObject);
          return;
        } catch (e2) {
          if (isAlreadyExists(e2)) continue;
          throw e2;
        }
      }
      const next = reconcile(cur, want);
      if (!next) return;
      await rest.update(info, undefined, name, next as unknown as KubeObject);
      return;
    }
  };
  // In parallel: this is on the path of every api-server start.
  await Promise.all([
    ...BOOTSTRAP_CLUSTER_ROLES.map((r) => ensure(roles, r, reconcileRole)),
    ...BOOTSTRAP_CLUSTER_ROLE_BINDINGS.map((b) => ensure(bindings, b, reconcileBinding)),
  ]);
}
