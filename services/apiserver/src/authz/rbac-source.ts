/**
 * The RBAC snapshot the authorizer decides on, read from the api-server's
 * watch caches of Roles, ClusterRoles and their bindings and rebuilt only
 * when one of those caches has moved on (a read-only view: nothing here
 * writes).
 */
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import type { WatchCache } from '../storage/watch-cache.js';
import type { RbacSnapshot } from './rbac.js';

const STORAGES = ['clusterroles', 'roles', 'clusterrolebindings', 'rolebindings'] as const;
const ALL = { labels: [], fields: [] };

export class RbacSource {
  private key = '';
  private snap: RbacSnapshot = { clusterRoles: new Map(), roles: new Map(), clusterRoleBindings: [], roleBindings: new Map() };

  constructor(private caches: Map<string, WatchCache>) {}

  snapshot(): RbacSnapshot {
    const cs = STORAGES.map((s) => this.caches.get(s));
    const key = cs.map((c) => `${c?.rev ?? 0}:${c?.size ?? 0}`).join(',');
    if (key === this.key) return this.snap;
    const [clusterRoles, roles, crbs, rbs] = cs.map((c) => (c ? c.list(ALL).items : []));
    const snap: RbacSnapshot = { clusterRoles: new Map(), roles: new Map(), clusterRoleBindings: crbs as ClusterRoleBinding[], roleBindings: new Map() };
    for (const r of clusterRoles as ClusterRole[]) snap.clusterRoles.set(r.metadata?.name ?? '', r);
    for (const r of roles as Role[]) {
      const ns = r.metadata?.namespace ?? '';
      if (!snap.roles.has(ns)) snap.roles.set(ns, new Map());
      snap.roles.get(ns)!.set(r.metadata?.name ?? '', r);
    }
    for (const b of rbs as RoleBinding[]) {
      const ns = b.metadata?.namespace ?? '';
      if (!snap.roleBindings.has(ns)) snap.roleBindings.set(ns, []);
      snap.roleBindings.get(ns)!.push(b);
    }
    this.key = key;
    this.snap = snap;
    return snap;
  }
}

const sources = new WeakMap<Map<string, WatchCache>, RbacSource>();

/** One source per set of caches: the REST and gRPC fronts and the RBAC write checks share it. */
export function rbacSourceOf(caches: Map<string, WatchCache>): RbacSource {
  let s = sources.get(caches);
  if (!s) sources.set(caches, (s = new RbacSource(caches)));
  return s;
}
