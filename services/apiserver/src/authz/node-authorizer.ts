/**
 * The Node authorizer (kube-apiserver's --authorization-mode=Node, before
 * RBAC): a kubelet's credential — user `system:node:<name>` in group
 * `system:nodes` — may read a Secret or ConfigMap, or ask a token for a
 * service account, only when a pod bound to its node refers to it; what
 * else a kubelet does is allowed by the node rules (the `system:node` role,
 * bound to nobody). Anything else is no opinion, and RBAC decides. Pure:
 * the pods are read through `podsOf`.
 */
import type { Pod, PodSpec, Volume } from 'kubernetes-types/core/v1.js';
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import type { UserInfo } from '../http/auth.js';
import { ruleAllows, type Decision, type RequestAttributes } from './rbac.js';

export const NODES_GROUP = 'system:nodes';
const NODE_PREFIX = 'system:node:';

/** The node a user speaks for, when it is a node's credential (Kubernetes' NodeIdentifier). */
export function nodeOf(user: UserInfo): string | undefined {
  if (!user.name.startsWith(NODE_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  const name = user.name.slice(NODE_PREFIX.length);
  return name || undefined;
}

/** What a pod refers to, by resource: the objects its node may read for it. */
export function podReferences(pod: Pod): { secrets: Set<string>; configmaps: Set<string>; serviceaccounts: Set<string> } {
  const secrets = new Set<string>();
  const configmaps = new Set<string>();
  const spec: PodSpec = pod.spec ?? { containers: [] };
  for (const s of spec.imagePullSecrets ?? []) if (s.name) secrets.add(s.name);
  const volume = (v: Volume) => {
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    if (v.configMap?.name) configmaps.add(v.configMap.name);
    for (const src of v.projected?.sources ?? []) {
      if (src.secret?.name) secrets.add(src.secret.name);
      if (src.configMap?.name) configmaps.add(src.configMap.name);
    }
  };
  (spec.volumes ?? []).forEach(volume);
  for (const c of [...(spec.initContainers ?? []), ...spec.containers, ...(spec.ephemeralContainers ?? [])]) {
    for (const e of c.envFrom ?? []) {
      if (e.secretRef?.name) secrets.add(e.secretRef.name);
      if (e.configMapRef?.name) configmaps.add(e.configMapRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
      if (e.valueFrom?.configMapKeyRef?.name) configmaps.add(e.valueFrom.configMapKeyRef.name);
    }
  }
  return { secrets, configmaps, serviceaccounts: new Set([spec.serviceAccountName || 'default']) };
}

/** The graph's resources (authorizeReadNamespacedObject, authorizeCreateToken). */
const GRAPH = new Set(['secrets', 'configmaps', 'serviceaccounts']);

/**
 * The Node authorizer's decision, or undefined for no opinion (not a node, or nothing the node rules allow: RBAC
 * decides, and allows nothing to system:nodes by default).
 */
export function authorizeNode(
  user: UserInfo,
  a: RequestAttributes,
  nodeRules: PolicyRule[],
  podsOf: (namespace: string, node: string) => Pod[],
): Decision | undefined {
  const node = nodeOf(user);
  if (!node) return undefined;
  const deny = (reason: string): Decision => ({ allowed: false, reason });
  // authorizeLease: node Leases, in kube-node-lease only (NodeRestriction then holds writes to the node's own name).
  if (a.resourceRequest && a.apiGroup === 'coordination.k8s.io' && a.resource === 'leases') {
    if (a.subresource || !['get', 'create', 'update', 'patch', 'delete'].includes(a.verb))
      return deny('can only get, create, update, patch, or delete a node lease');
    if (a.namespace !== 'kube-node-lease') return deny('can only access leases in the "kube-node-lease" system namespace');
    return { allowed: true, reason: '' };
  }
  if (!a.resourceRequest || a.apiGroup !== '' || !GRAPH.has(a.resource)) {
    return nodeRules.some((r) => ruleAllows(r, a)) ? { allowed: true, reason: '' } : undefined;
  }
  if (a.resource === 'serviceaccounts') {
    if (a.subresource !== 'token' || a.verb !== 'create') return deny(`can only create tokens for individual service accounts`);
  } else {
    if (a.subresource) return deny(`cannot ${a.verb} ${a.resource} subresource ${a.subresource}`);
    if (!['get', 'list', 'watch'].includes(a.verb)) return deny(`can only read resources of this type`);
  }
  if (!a.name || !a.namespace) return deny(`can only ${a.resource === 'serviceaccounts' ? 'create tokens for' : 'read'} individual ${a.resource}`);
  const kind = a.resource as 'secrets' | 'configmaps' | 'serviceaccounts';
  const related = podsOf(a.namespace, node).some((p) => podReferences(p)[kind].has(a.name!));
  return related ? { allowed: true, reason: '' } : deny(`no relationship found between node '${node}' and this object`);
}
