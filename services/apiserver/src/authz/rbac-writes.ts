/**
 * The RBAC kinds' write checks (kube-apiserver's policy-based storage for
 * roles and bindings): who writes a Role, ClusterRole or binding must hold
 * what it grants. Called by the registry before an RBAC object is stored.
 */
import type { ClusterRole, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { forbidden, type KubeObject, type ResourceInfo } from '@kemu/api';
import type { WatchCache } from '../storage/watch-cache.js';
import { confirmNoEscalation } from './escalation.js';
import { authorize, SYSTEM_MASTERS } from './rbac.js';
import { rbacSourceOf } from './rbac-source.js';
import { currentUser } from './request-user.js';

const RBAC = 'rbac.authorization.k8s.io';

export function checkRbacWrite(caches: Map<string, WatchCache>, info: ResourceInfo, obj: KubeObject): void {
  if (info.group !== RBAC) return;
  const user = currentUser();
  if (!user || user.groups.includes(SYSTEM_MASTERS)) return;
  const snap = rbacSourceOf(caches).snapshot();
  const namespace = info.namespaced ? obj.metadata.namespace : undefined;
  const name = obj.metadata.name ?? '';
  if (info.resource === 'roles' || info.resource === 'clusterroles') {
    const role = obj as ClusterRole;
    if (role.aggregationRule) {
      const attrs = { resourceRequest: true as const, verb: 'escalate', apiGroup: RBAC, resource: info.resource, name };
      if (!authorize(snap, user, attrs).allowed) throw forbidden(info.resource, RBAC, name, 'must have cluster-admin privileges to use the aggregationRule');
    }
    confirmNoEscalation({ snap, user, resource: info.resource, namespace, name, rules: role.rules ?? [] });
    return;
  }
  const binding = obj as RoleBinding;
  const ref = binding.roleRef ?? { kind: '', name: '', apiGroup: RBAC };
  const role = ref.kind === 'ClusterRole' ? snap.clusterRoles.get(ref.name) : namespace ? snap.roles.get(namespace)?.get(ref.name) : undefined;
  // A role that exists without rules grants nothing; one that does not exist is refused unless the user may bind it.
  confirmNoEscalation({ snap, user, resource: info.resource, namespace, name, rules: role ? (role.rules ?? []) : undefined, roleRef: ref });
}
