import { describe, expect, it } from 'vitest';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { StatusError } from '@kemu/api';
import { authorize, forbiddenMessage, rulesFor, type RbacSnapshot } from './rbac.js';
import { confirmNoEscalation, uncovered } from './escalation.js';
import { impersonatedUser } from './impersonation.js';
import { resourceVerb } from './attributes.js';
import { reconcileBinding, reconcileRole } from './reconcile.js';
import { BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES } from './bootstrap-policy.js';

const snapshot = (o: { clusterRoles?: ClusterRole[]; roles?: Role[]; crbs?: ClusterRoleBinding[]; rbs?: RoleBinding[] }): RbacSnapshot => {
  const snap: RbacSnapshot = { clusterRoles: new Map(), roles: new Map(), clusterRoleBindings: o.crbs ?? [], roleBindings: new Map() };
  for (const r of o.clusterRoles ?? []) snap.clusterRoles.set(r.metadata!.name!, r);
  for (const r of o.roles ?? []) {
    const ns = r.metadata!.namespace!;
    if (!snap.roles.has(ns)) snap.roles.set(ns, new Map());
    snap.roles.get(ns)!.set(r.metadata!.name!, r);
  }
  for (const b of o.rbs ?? []) snap.roleBindings.set(b.metadata!.namespace!, [...(snap.roleBindings.get(b.metadata!.namespace!) ?? []), b]);
  return snap;
};

const defaults = snapshot({ clusterRoles: BOOTSTRAP_CLUSTER_ROLES, crbs: BOOTSTRAP_CLUSTER_ROLE_BINDINGS });
const alice = { name: 'alice', groups: ['system:authenticated'] };
const pods = (verb: string, namespace?: string, extra: object = {}) => ({
  resourceRequest: true as const,
  verb,
  apiGroup: '',
  resource: 'pods',
  namespace,
  ...extra,
});

describe('RBAC decisions', () => {
  const podReader: Role = {
    metadata: { name: 'pod-reader', namespace: 'dev' },
    rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] }],
  };
  const binding: RoleBinding = {
    metadata: { name: 'read-pods', namespace: 'dev' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
    subjects: [{ kind: 'User', name: 'alice' }],
  };
  const snap = snapshot({ clusterRoles: BOOTSTRAP_CLUSTER_ROLES, crbs: BOOTSTRAP_CLUSTER_ROLE_BINDINGS, roles: [podReader], rbs: [binding] });

  it('a RoleBinding grants its Role in its namespace only', () => {
    expect(authorize(snap, alice, pods('list', 'dev'))).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "read-pods/dev" of Role "pod-reader" to User "alice"',
    });
    expect(authorize(snap, alice, pods('list', 'prod')).allowed).toBe(false);
    expect(authorize(snap, alice, pods('delete', 'dev')).allowed).toBe(false);
    expect(authorize(snap, alice, pods('get', 'dev', { subresource: 'log', name: 'x' })).allowed).toBe(true);
    expect(authorize(snap, alice, pods('create', 'dev', { subresource: 'exec', name: 'x' })).allowed).toBe(false);
  });

  it('system:masters may do anything; everyone authenticated may discover and review itself', () => {
    expect(authorize(snap, { name: 'root', groups: ['system:masters'] }, pods('delete', 'x')).allowed).toBe(true);
    expect(authorize(snap, alice, { resourceRequest: false, verb: 'get', path: '/apis/apps/v1' }).allowed).toBe(true);
    expect(authorize(snap, alice, { resourceRequest: false, verb: 'get', path: '/metrics' }).allowed).toBe(false);
    const ssar = { resourceRequest: true as const, verb: 'create', apiGroup: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' };
    expect(authorize(snap, alice, ssar).allowed).toBe(true);
    const anonymous = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    expect(authorize(snap, anonymous, { resourceRequest: false, verb: 'get', path: '/version' }).allowed).toBe(true);
    expect(authorize(snap, anonymous, { resourceRequest: false, verb: 'get', path: '/api' }).allowed).toBe(false);
  });

  it('resourceNames, */subresource and service account subjects', () => {
    const cr: ClusterRole = {
      metadata: { name: 'scale-one' },
      rules: [
        { apiGroups: ['apps'], resources: ['*/scale'], verbs: ['update'] },
        { apiGroups: [''], resources: ['configmaps'], resourceNames: ['cfg'], verbs: ['get'] },
      ],
    };
    const sa = { name: 'system:serviceaccount:dev:bot', groups: ['system:serviceaccounts', 'system:serviceaccounts:dev', 'system:authenticated'] };
    const rb: RoleBinding = {
      metadata: { name: 'b', namespace: 'dev' },
      roleRef: { apiGroup: '', kind: 'ClusterRole', name: 'scale-one' },
      subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
    };
    const s = snapshot({ clusterRoles: [cr], rbs: [rb] });
    const scale = {
      resourceRequest: true as const,
      verb: 'update',
      apiGroup: 'apps',
      resource: 'deployments',
      subresource: 'scale',
      namespace: 'dev',
      name: 'web',
    };
    expect(authorize(s, sa, scale).allowed).toBe(true);
    expect(authorize(s, sa, { ...scale, subresource: undefined }).allowed).toBe(false);
    const cm = { resourceRequest: true as const, verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'dev' };
    expect(authorize(s, sa, { ...cm, name: 'cfg' }).allowed).toBe(true);
    expect(authorize(s, sa, { ...cm, name: 'other' }).allowed).toBe(false);
    expect(authorize(s, sa, cm).allowed).toBe(false); // a list is not a get of the named object
  });

  it('words the refusal as kube-apiserver', () => {
    expect(forbiddenMessage(alice, pods('list', 'default'))).toBe('User "alice" cannot list resource "pods" in API group "" in the namespace "default"');
    expect(forbiddenMessage(alice, { resourceRequest: true, verb: 'get', apiGroup: '', resource: 'nodes' })).toBe(
      'User "alice" cannot get resource "nodes" in API group "" at the cluster scope',
    );
    expect(forbiddenMessage(alice, { resourceRequest: false, verb: 'get', path: '/metrics' })).toBe('User "alice" cannot get path "/metrics"');
  });

  it('maps HTTP methods to verbs', () => {
    expect([
      resourceVerb('GET', false, false),
      resourceVerb('GET', true, false),
      resourceVerb('GET', false, true),
      resourceVerb('DELETE', false, false),
    ]).toEqual(['list', 'get', 'watch', 'deletecollection']);
  });
});

describe('escalation prevention', () => {
  const owner = [{ apiGroups: [''], resources: ['pods', '*/status'], verbs: ['get', 'list'] }];
  it('finds the grants the owner lacks', () => {
    expect(uncovered(owner, [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }])).toEqual([]);
    expect(uncovered(owner, [{ apiGroups: [''], resources: ['pods/status'], verbs: ['get'] }])).toEqual([]);
    expect(uncovered(owner, [{ apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'delete'] }])).toHaveLength(3);
    expect(uncovered(owner, [{ apiGroups: ['*'], resources: ['pods'], verbs: ['get'] }])).toHaveLength(1);
  });

  it('refuses a Role granting more than its author holds, unless it may escalate', () => {
    const admin = { name: 'ns-admin', groups: ['system:authenticated'] };
    const rb: RoleBinding = {
      metadata: { name: 'a', namespace: 'dev' },
      roleRef: { apiGroup: '', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ kind: 'User', name: 'ns-admin' }],
    };
    const admin2: ClusterRole = { ...BOOTSTRAP_CLUSTER_ROLES.find((r) => r.metadata!.name === 'system:aggregate-to-admin')!, metadata: { name: 'admin' } };
    const s = snapshot({
      clusterRoles: [...BOOTSTRAP_CLUSTER_ROLES.filter((r) => r.metadata!.name !== 'admin'), admin2],
      crbs: BOOTSTRAP_CLUSTER_ROLE_BINDINGS,
      rbs: [rb],
    });
    const role = (rules: Role['rules']) => ({ snap: s, user: admin, resource: 'roles', namespace: 'dev', name: 'r', rules: rules ?? [] });
    expect(() => confirmNoEscalation(role([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['get'] }]))).not.toThrow();
    let err: unknown;
    try {
      confirmNoEscalation(role([{ apiGroups: [''], resources: ['nodes'], verbs: ['delete'] }]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(403);
    expect((err as StatusError).message).toContain(
      'is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["delete"]}',
    );
    // Binding cluster-admin in the namespace: refused without `bind`.
    expect(() =>
      confirmNoEscalation({ ...role(BOOTSTRAP_CLUSTER_ROLES[0].rules), resource: 'rolebindings', roleRef: { kind: 'ClusterRole', name: 'cluster-admin' } }),
    ).toThrow(/not currently held/);
  });

  it('refuses a binding to a role that does not exist unless the user may bind it', () => {
    const binder: ClusterRole = {
      metadata: { name: 'binder' },
      rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['nope'] }],
    };
    const s = snapshot({
      clusterRoles: [...BOOTSTRAP_CLUSTER_ROLES, binder],
      crbs: [
        ...BOOTSTRAP_CLUSTER_ROLE_BINDINGS,
        { metadata: { name: 'binder' }, roleRef: { apiGroup: '', kind: 'ClusterRole', name: 'binder' }, subjects: [{ kind: 'User', name: 'binder' }] },
      ],
    });
    const bindNope =
      (name: string, groups: string[] = ['system:authenticated']) =>
      () =>
        confirmNoEscalation({
          snap: s,
          user: { name, groups },
          resource: 'rolebindings',
          namespace: 'dev',
          name: 'b',
          rules: undefined,
          roleRef: { kind: 'ClusterRole', name: 'nope' },
        });
    let err: unknown;
    try {
      bindNope('someone')();
    } catch (e) {
      err = e;
    }
    expect((err as StatusError).code).toBe(404);
    expect((err as StatusError).message).toBe('clusterroles.rbac.authorization.k8s.io "nope" not found');
    expect(bindNope('binder')).not.toThrow();
    expect(bindNope('root', ['system:masters'])).not.toThrow();
  });
});

describe('impersonation', () => {
  const may = (allowed: string[]) => (_u: unknown, a: { resourceRequest: boolean; resource?: string; name?: string }) => ({
    allowed: allowed.includes(`${a.resource}/${a.name}`),
    reason: '',
  });
  it('acts as the user named, when allowed', () => {
    expect(impersonatedUser({ 'impersonate-user': ['bob'] }, alice, may(['users/bob']))).toEqual({ name: 'bob', groups: ['system:authenticated'] });
    expect(impersonatedUser({ 'impersonate-user': ['system:serviceaccount:dev:bot'] }, alice, may(['serviceaccounts/bot']))!.groups).toEqual([
      'system:serviceaccounts',
      'system:serviceaccounts:dev',
      'system:authenticated',
    ]);
    expect(() => impersonatedUser({ 'impersonate-user': ['bob'], 'impersonate-group': ['system:masters'] }, alice, may(['users/bob']))).toThrow(
      /cannot impersonate resource "groups"/,
    );
    expect(impersonatedUser({}, alice, may([]))).toBeUndefined();
  });
});

describe('default policy reconciliation', () => {
  it('adds back what a default role lost and keeps what was added; leaves autoupdate=false alone', () => {
    const want = BOOTSTRAP_CLUSTER_ROLES.find((r) => r.metadata!.name === 'system:basic-user')!;
    const edited = { ...structuredClone(want), rules: [{ apiGroups: ['x'], resources: ['y'], verbs: ['get'] }] };
    expect(reconcileRole(edited, want)!.rules).toEqual([{ apiGroups: ['x'], resources: ['y'], verbs: ['get'] }, ...want.rules!]);
    expect(reconcileRole(want, want)).toBeUndefined();
    const off = { ...edited, metadata: { ...edited.metadata, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'false' } } };
    expect(reconcileRole(off, want)).toBeUndefined();
    const b = BOOTSTRAP_CLUSTER_ROLE_BINDINGS[0];
    expect(reconcileBinding({ ...structuredClone(b), subjects: [] }, b)!.subjects).toEqual(b.subjects);
  });

  it('the rules of a user with a namespace binding include the cluster-wide ones', () => {
    expect(rulesFor(defaults, alice, 'dev').some((r) => r.nonResourceURLs?.includes('/api'))).toBe(true);
  });
});
