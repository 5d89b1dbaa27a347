/**
 * The controllers' own ClusterRoles (system:controller:<name>) and their
 * ClusterRoleBindings to the service accounts kube-system/<name>: what
 * kube-controller-manager's controllers may do when it runs with
 * --use-service-account-credentials, as kubeadm runs it. Written from
 * Kubernetes' bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/
 * controller_policy.go, testdata/controller-roles.yaml): the roles of the
 * controllers kemu runs, with Kubernetes' rules unchanged — including the
 * rules for what kemu does not serve yet (controllerrevisions, the updates of
 * the finalizers subresources an ownerReference with blockOwnerDeletion needs), so
 * `kubectl get clusterrole system:controller:... -o yaml` reads as on a real
 * cluster. Roles of controllers kemu does not run (attachdetach, cronjob,
 * job, statefulset, the volume controllers, ...) are left out.
 *
 * Kubernetes' controllers share some accounts, and kemu's do the same:
 * node-ipam and taint eviction run as node-controller (kube-controller-manager
 * gives both that client), the CSR approving, signing and cleaning
 * controllers as certificate-controller. kemu's LoadBalancer allocator has no
 * upstream twin (a cloud's service-controller does that job), so it gets a
 * role of its own, named kemu-service-lb-controller.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule } from 'kubernetes-types/rbac/v1.js';

const PREFIX = 'system:controller:';

const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule =>
  resourceNames ? { apiGroups, resourceNames, resources, verbs } : { apiGroups, resources, verbs };

/** Kubernetes' eventsRule(): every controller that records events may write them, in both event APIs. */
const EVENTS = rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']);

/** The service account (in kube-system) of each controller role, and its rules. */
const CONTROLLER_RULES: Record<string, PolicyRule[]> = {
  'certificate-controller': [
    rule(['delete', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    rule(['update'], ['certificates.k8s.io'], ['certificatesigningrequests/approval', 'certificatesigningrequests/status']),
    rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet']),
    rule(
      ['sign'],
      ['certificates.k8s.io'],
      ['signers'],
      ['kubernetes.io/kube-apiserver-client', 'kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/kubelet-serving', 'kubernetes.io/legacy-unknown'],
    ),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    EVENTS,
  ],
  // This controller must be able to write any rule into a ClusterRole, hence escalate.
  'clusterrole-aggregation-controller': [rule(['escalate', 'get', 'list', 'patch', 'update', 'watch'], ['rbac.authorization.k8s.io'], ['clusterroles'])],
  'daemon-set-controller': [
    rule(['get', 'list', 'watch'], ['apps', 'extensions'], ['daemonsets']),
    rule(['update'], ['apps', 'extensions'], ['daemonsets/status']),
    rule(['update'], ['apps', 'extensions'], ['daemonsets/finalizers']),
    rule(['list', 'watch'], [''], ['nodes']),
    rule(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
    rule(['create'], [''], ['pods/binding']),
    rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps'], ['controllerrevisions']),
    EVENTS,
  ],
  'deployment-controller': [
    rule(['get', 'list', 'update', 'watch'], ['apps', 'extensions'], ['deployments']),
    rule(['update'], ['apps', 'extensions'], ['deployments/status']),
    rule(['update'], ['apps', 'extensions'], ['deployments/finalizers']),
    rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps', 'extensions'], ['replicasets']),
    rule(['get', 'list', 'update', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  'endpoint-controller': [
    rule(['get', 'list', 'watch'], [''], ['pods', 'services']),
    rule(['create', 'delete', 'get', 'list', 'update', 'watch'], [''], ['endpoints']),
    rule(['create'], [''], ['endpoints/restricted']),
    EVENTS,
  ],
  'endpointslice-controller': [
    rule(['get', 'list', 'watch'], [''], ['nodes', 'pods', 'services']),
    rule(['update'], [''], ['services/finalizers']),
    rule(['create', 'delete', 'get', 'list', 'update', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    EVENTS,
  ],
  'endpointslicemirroring-controller': [
    rule(['get', 'list', 'watch'], [''], ['endpoints', 'services']),
    rule(['update'], [''], ['services/finalizers']),
    rule(['update'], [''], ['endpoints/finalizers']),
    rule(['create', 'delete', 'get', 'list', 'update', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    EVENTS,
  ],
  // The garbage collector gets, patches and deletes dependents of any kind.
  'generic-garbage-collector': [rule(['delete', 'get', 'list', 'patch', 'update', 'watch'], ['*'], ['*']), EVENTS],
  // The namespace controller deletes everything in a terminating namespace.
  'namespace-controller': [
    rule(['delete', 'get', 'list', 'watch'], [''], ['namespaces']),
    rule(['update'], [''], ['namespaces/finalize', 'namespaces/status']),
    rule(['delete', 'deletecollection', 'get', 'list', 'watch'], ['*'], ['*']),
  ],
  'node-controller': [
    rule(['delete', 'get', 'list', 'patch', 'update', 'watch'], [''], ['nodes']),
    rule(['patch', 'update'], [''], ['nodes/status']),
    rule(['patch', 'update'], [''], ['pods/status']),
    rule(['delete', 'get', 'list', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  'pod-garbage-collector': [
    rule(['delete', 'list', 'watch'], [''], ['pods']),
    rule(['get', 'list', 'watch'], [''], ['nodes']),
    rule(['patch'], [''], ['pods/status']),
  ],
  'replicaset-controller': [
    rule(['get', 'list', 'update', 'watch'], ['apps', 'extensions'], ['replicasets']),
    rule(['update'], ['apps', 'extensions'], ['replicasets/status']),
    rule(['update'], ['apps', 'extensions'], ['replicasets/finalizers']),
    rule(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  'replication-controller': [
    rule(['get', 'list', 'update', 'watch'], [''], ['replicationcontrollers']),
    rule(['update'], [''], ['replicationcontrollers/status']),
    rule(['update'], [''], ['replicationcontrollers/finalizers']),
    rule(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  // Quota counts objects of any kind.
  'resourcequota-controller': [rule(['list', 'watch'], ['*'], ['*']), rule(['update'], [''], ['resourcequotas/status']), EVENTS],
  'root-ca-cert-publisher': [rule(['create', 'update'], [''], ['configmaps']), EVENTS],
  'service-account-controller': [rule(['create'], [''], ['serviceaccounts']), EVENTS],
  // kemu's own, not Kubernetes': the MetalLB-style LoadBalancer address allocator writes
  // status.loadBalancer of the Services it serves, as a cloud's service-controller does
  // (whose rules these are, less the nodes it reads to program a cloud balancer).
  'kemu-service-lb-controller': [rule(['get', 'list', 'watch'], [''], ['services']), rule(['patch', 'update'], [''], ['services/status']), EVENTS],
};

const META = {
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
};

/** The service accounts (in kube-system) the controller roles are bound to. */
export const CONTROLLER_SERVICE_ACCOUNTS: readonly string[] = Object.keys(CONTROLLER_RULES).sort();

/** system:controller:<name> for every controller account, as the api-server reconciles them at start. */
export const CONTROLLER_CLUSTER_ROLES: ClusterRole[] = CONTROLLER_SERVICE_ACCOUNTS.map((sa) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: PREFIX + sa, labels: { ...META.labels }, annotations: { ...META.annotations } },
  rules: CONTROLLER_RULES[sa],
}));

/** system:controller:<name> bound to the service account kube-system/<name> (Kubernetes' addControllerRole). */
export const CONTROLLER_CLUSTER_ROLE_BINDINGS: ClusterRoleBinding[] = CONTROLLER_SERVICE_ACCOUNTS.map((sa) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: PREFIX + sa, labels: { ...META.labels }, annotations: { ...META.annotations } },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: PREFIX + sa },
  subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'kube-system' }],
}));
