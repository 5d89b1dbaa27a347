import { describe, expect, it } from 'vitest';
import type { ClusterRole } from 'kubernetes-types/rbac/v1.js';
import { authorize, type RbacSnapshot } from './rbac.js';
import { BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES } from './bootstrap-policy.js';
import { CONTROLLER_CLUSTER_ROLE_BINDINGS, CONTROLLER_CLUSTER_ROLES, CONTROLLER_SERVICE_ACCOUNTS } from './controller-roles.js';

const snap: RbacSnapshot = {
  clusterRoles: new Map(BOOTSTRAP_CLUSTER_ROLES.map((r: ClusterRole) => [r.metadata!.name!, r])),
  roles: new Map(),
  clusterRoleBindings: BOOTSTRAP_CLUSTER_ROLE_BINDINGS,
  roleBindings: new Map(),
};

/** A controller's service account, as the api-server authenticates its token. */
const sa = (name: string) => ({
  name: `system:serviceaccount:kube-system:${name}`,
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
});
const manager = { name: 'system:kube-controller-manager', groups: ['system:authenticated'] };

const can = (user: { name: string; groups: string[] }, verb: string, apiGroup: string, resource: string, extra: object = {}) =>
  authorize(snap, user, { resourceRequest: true, verb, apiGroup, resource, namespace: 'default', ...extra }).allowed;

describe('the controller roles', () => {
  it('are in the bootstrap policy, each bound to the service account of its name in kube-system', () => {
    expect(CONTROLLER_SERVICE_ACCOUNTS).toContain('deployment-controller');
    for (const sa of CONTROLLER_SERVICE_ACCOUNTS) {
      const name = `system:controller:${sa}`;
      expect(BOOTSTRAP_CLUSTER_ROLES.map((r) => r.metadata!.name)).toContain(name);
      const b = CONTROLLER_CLUSTER_ROLE_BINDINGS.find((x) => x.metadata!.name === name)!;
      expect(BOOTSTRAP_CLUSTER_ROLE_BINDINGS).toContain(b);
      expect(b.roleRef.name).toBe(name);
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: 'kube-system' }]);
    }
    for (const r of CONTROLLER_CLUSTER_ROLES) expect(r.metadata!.labels).toEqual({ 'kubernetes.io/bootstrapping': 'rbac-defaults' });
  });

  it.each([
    ['replicaset-controller', 'create', '', 'pods', {}, true],
    ['replicaset-controller', 'update', 'apps', 'replicasets', { subresource: 'status' }, true],
    ['replicaset-controller', 'create', 'apps', 'deployments', {}, false],
    ['deployment-controller', 'create', 'apps', 'replicasets', {}, true],
    ['deployment-controller', 'create', '', 'pods', {}, false],
    ['node-controller', 'patch', '', 'nodes', {}, true],
    ['node-controller', 'update', '', 'pods', { subresource: 'status' }, true],
    ['pod-garbage-collector', 'delete', '', 'pods', {}, true],
    ['generic-garbage-collector', 'delete', 'apps', 'replicasets', {}, true],
    ['generic-garbage-collector', 'create', '', 'pods', {}, false],
    ['namespace-controller', 'deletecollection', 'apps', 'deployments', {}, true],
    ['endpointslice-controller', 'create', 'discovery.k8s.io', 'endpointslices', {}, true],
    ['endpoint-controller', 'create', 'discovery.k8s.io', 'endpointslices', {}, false],
    ['resourcequota-controller', 'update', '', 'resourcequotas', { subresource: 'status' }, true],
    ['clusterrole-aggregation-controller', 'escalate', 'rbac.authorization.k8s.io', 'clusterroles', { namespace: undefined }, true],
    ['kemu-service-lb-controller', 'update', '', 'services', { subresource: 'status' }, true],
    ['kemu-service-lb-controller', 'update', '', 'services', {}, false],
    ['certificate-controller', 'update', 'certificates.k8s.io', 'certificatesigningrequests', { subresource: 'approval', namespace: undefined }, true],
  ])('%s may %s %s/%s %o: %s', (account, verb, group, resource, extra, allowed) => {
    expect(can(sa(account), verb, group, resource, extra)).toBe(allowed);
  });

  it('leave the manager itself list and watch, never a controller write', () => {
    expect(can(manager, 'watch', 'apps', 'deployments')).toBe(true);
    expect(can(manager, 'create', '', 'pods')).toBe(false);
    expect(can(manager, 'create', '', 'serviceaccounts', { namespace: 'kube-system' })).toBe(true);
    expect(can(manager, 'create', '', 'serviceaccounts', { subresource: 'token', namespace: 'kube-system' })).toBe(true);
  });
});
