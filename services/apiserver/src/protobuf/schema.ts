/**
 * Field numbers of the Kubernetes protobuf messages kubectl's typed clients
 * send (from k8s.io/api's generated.proto), for the decoder in decode.ts.
 * Only what `kubectl create <kind>` produces is listed; a field outside
 * these tables is refused, never silently dropped.
 */

export interface FieldSpec {
  name: string;
  /** string | bytes | bool | int32 | int64 | time | quantity | intorstring | <message name> */
  type: string;
  repeated?: boolean;
  /** map<string, type> */
  map?: boolean;
  /** Keep a zero value: the Go field is a pointer, so a 0 on the wire was set on purpose. */
  keepZero?: boolean;
  /** Keep an empty object (e.g. `emptyDir: {}`). */
  keepEmpty?: boolean;
  /** An embedded Go struct (`json:",inline"`): its fields are the parent's in JSON. */
  inline?: boolean;
}

type Table = Record<number, FieldSpec>;
const s = (name: string): FieldSpec => ({ name, type: 'string' });
const m = (name: string, type: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ name, type, ...extra });
const list = (name: string, type: string): FieldSpec => ({ name, type, repeated: true });
const map = (name: string, type: string): FieldSpec => ({ name, type, map: true });

export const MESSAGES: Record<string, Table> = {
  ObjectMeta: {
    1: s('name'),
    2: s('generateName'),
    3: s('namespace'),
    4: s('selfLink'),
    5: s('uid'),
    6: s('resourceVersion'),
    7: m('generation', 'int64'),
    8: m('creationTimestamp', 'time'),
    9: m('deletionTimestamp', 'time'),
    10: m('deletionGracePeriodSeconds', 'int64', { keepZero: true }),
    11: map('labels', 'string'),
    12: map('annotations', 'string'),
    13: list('ownerReferences', 'OwnerReference'),
    14: list('finalizers', 'string'),
    17: list('managedFields', 'ManagedFieldsEntry'),
  },
  OwnerReference: { 1: s('kind'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: m('controller', 'bool'), 7: m('blockOwnerDeletion', 'bool') },
  ManagedFieldsEntry: { 1: s('manager'), 2: s('operation'), 3: s('apiVersion'), 4: m('time', 'time'), 6: s('fieldsType'), 8: s('subresource') },
  LabelSelector: { 1: map('matchLabels', 'string'), 2: list('matchExpressions', 'LabelSelectorRequirement') },
  LabelSelectorRequirement: { 1: s('key'), 2: s('operator'), 3: list('values', 'string') },
  ObjectReference: { 1: s('kind'), 2: s('namespace'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: s('resourceVersion'), 7: s('fieldPath') },
  LocalObjectReference: { 1: s('name') },

  Namespace: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'NamespaceSpec'), 3: m('status', 'NamespaceStatus') },
  NamespaceSpec: { 1: list('finalizers', 'string') },
  NamespaceStatus: { 1: s('phase') },
  ConfigMap: { 1: m('metadata', 'ObjectMeta'), 2: map('data', 'string'), 3: map('binaryData', 'bytes'), 4: m('immutable', 'bool', { keepZero: true }) },
  Secret: {
    1: m('metadata', 'ObjectMeta'),
    2: map('data', 'bytes'),
    3: s('type'),
    4: map('stringData', 'string'),
    5: m('immutable', 'bool', { keepZero: true }),
  },
  ServiceAccount: {
    1: m('metadata', 'ObjectMeta'),
    2: list('secrets', 'ObjectReference'),
    3: list('imagePullSecrets', 'LocalObjectReference'),
    4: m('automountServiceAccountToken', 'bool', { keepZero: true }),
  },
  ResourceQuota: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'ResourceQuotaSpec'), 3: m('status', 'ResourceQuotaStatus') },
  ResourceQuotaSpec: { 1: map('hard', 'quantity'), 2: list('scopes', 'string') },
  ResourceQuotaStatus: { 1: map('hard', 'quantity'), 2: map('used', 'quantity') },

  Service: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'ServiceSpec'), 3: m('status', 'ServiceStatus') },
  ServiceSpec: {
    1: list('ports', 'ServicePort'),
    2: map('selector', 'string'),
    3: s('clusterIP'),
    4: s('type'),
    5: list('externalIPs', 'string'),
    7: s('sessionAffinity'),
    8: s('loadBalancerIP'),
    9: list('loadBalancerSourceRanges', 'string'),
    10: s('externalName'),
    11: s('externalTrafficPolicy'),
    12: m('healthCheckNodePort', 'int32'),
    13: m('publishNotReadyAddresses', 'bool'),
    17: s('ipFamilyPolicy'),
    18: list('clusterIPs', 'string'),
    19: list('ipFamilies', 'string'),
    20: m('allocateLoadBalancerNodePorts', 'bool', { keepZero: true }),
    21: s('loadBalancerClass'),
    22: s('internalTrafficPolicy'),
  },
  ServicePort: { 1: s('name'), 2: s('protocol'), 3: m('port', 'int32'), 4: m('targetPort', 'intorstring'), 5: m('nodePort', 'int32'), 6: s('appProtocol') },
  ServiceStatus: { 1: m('loadBalancer', 'LoadBalancerStatus') },
  LoadBalancerStatus: { 1: list('ingress', 'LoadBalancerIngress') },
  LoadBalancerIngress: { 1: s('ip'), 2: s('hostname'), 3: s('ipMode'), 4: list('ports', 'PortStatus') },
  PortStatus: { 1: m('port', 'int32'), 2: s('protocol'), 3: s('error') },

  Deployment: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'DeploymentSpec'), 3: m('status', 'DeploymentStatus') },
  DeploymentSpec: {
    1: m('replicas', 'int32', { keepZero: true }),
    2: m('selector', 'LabelSelector'),
    3: m('template', 'PodTemplateSpec'),
    4: m('strategy', 'DeploymentStrategy'),
    5: m('minReadySeconds', 'int32'),
    6: m('revisionHistoryLimit', 'int32', { keepZero: true }),
    7: m('paused', 'bool'),
    9: m('progressDeadlineSeconds', 'int32', { keepZero: true }),
  },
  DeploymentStrategy: { 1: s('type'), 2: m('rollingUpdate', 'RollingUpdateDeployment') },
  RollingUpdateDeployment: { 1: m('maxUnavailable', 'intorstring'), 2: m('maxSurge', 'intorstring') },
  DeploymentStatus: {
    1: m('observedGeneration', 'int64'),
    2: m('replicas', 'int32'),
    3: m('updatedReplicas', 'int32'),
    4: m('availableReplicas', 'int32'),
    5: m('unavailableReplicas', 'int32'),
    7: m('readyReplicas', 'int32'),
  },
  PodTemplateSpec: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'PodSpec') },
  PodSpec: {
    1: list('volumes', 'Volume'),
    2: list('containers', 'Container'),
    3: s('restartPolicy'),
    4: m('terminationGracePeriodSeconds', 'int64', { keepZero: true }),
    5: m('activeDeadlineSeconds', 'int64', { keepZero: true }),
    6: s('dnsPolicy'),
    7: map('nodeSelector', 'string'),
    8: s('serviceAccountName'),
    9: s('serviceAccount'),
    10: s('nodeName'),
    11: m('hostNetwork', 'bool'),
    12: m('hostPID', 'bool'),
    13: m('hostIPC', 'bool'),
    15: list('imagePullSecrets', 'LocalObjectReference'),
    16: s('hostname'),
    17: s('subdomain'),
    19: s('schedulerName'),
    20: list('initContainers', 'Container'),
    21: m('automountServiceAccountToken', 'bool', { keepZero: true }),
    22: list('tolerations', 'Toleration'),
    24: s('priorityClassName'),
    25: m('priority', 'int32', { keepZero: true }),
    27: m('shareProcessNamespace', 'bool', { keepZero: true }),
    29: s('runtimeClassName'),
    30: m('enableServiceLinks', 'bool', { keepZero: true }),
    31: s('preemptionPolicy'),
  },
  Container: {
    1: s('name'),
    2: s('image'),
    3: list('command', 'string'),
    4: list('args', 'string'),
    5: s('workingDir'),
    6: list('ports', 'ContainerPort'),
    7: list('env', 'EnvVar'),
    8: m('resources', 'ResourceRequirements'),
    9: list('volumeMounts', 'VolumeMount'),
    13: s('terminationMessagePath'),
    14: s('imagePullPolicy'),
    16: m('stdin', 'bool'),
    17: m('stdinOnce', 'bool'),
    18: m('tty', 'bool'),
    20: s('terminationMessagePolicy'),
  },
  ContainerPort: { 1: s('name'), 2: m('hostPort', 'int32'), 3: m('containerPort', 'int32'), 4: s('protocol'), 5: s('hostIP') },
  EnvVar: { 1: s('name'), 2: s('value') },
  ResourceRequirements: { 1: map('limits', 'quantity'), 2: map('requests', 'quantity') },
  VolumeMount: { 1: s('name'), 2: m('readOnly', 'bool'), 3: s('mountPath'), 4: s('subPath') },
  Volume: { 1: s('name') },
  Toleration: { 1: s('key'), 2: s('operator'), 3: s('value'), 4: s('effect'), 5: m('tolerationSeconds', 'int64', { keepZero: true }) },

  // networking.k8s.io/v1, what `kubectl create ingress` sends.
  Ingress: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'IngressSpec'), 3: m('status', 'IngressStatus') },
  IngressSpec: { 1: m('defaultBackend', 'IngressBackend'), 2: list('tls', 'IngressTLS'), 3: list('rules', 'IngressRule'), 4: s('ingressClassName') },
  IngressBackend: { 3: m('resource', 'TypedLocalObjectReference'), 4: m('service', 'IngressServiceBackend') },
  IngressServiceBackend: { 1: s('name'), 2: m('port', 'ServiceBackendPort') },
  ServiceBackendPort: { 1: s('name'), 2: m('number', 'int32') },
  TypedLocalObjectReference: { 1: s('apiGroup'), 2: s('kind'), 3: s('name') },
  IngressTLS: { 1: list('hosts', 'string'), 2: s('secretName') },
  IngressRule: { 1: s('host'), 2: m('ingressRuleValue', 'IngressRuleValue', { inline: true }) },
  IngressRuleValue: { 1: m('http', 'HTTPIngressRuleValue') },
  HTTPIngressRuleValue: { 1: list('paths', 'HTTPIngressPath') },
  HTTPIngressPath: { 1: s('path'), 2: m('backend', 'IngressBackend'), 3: s('pathType') },
  IngressStatus: { 1: m('loadBalancer', 'IngressLoadBalancerStatus') },
  IngressLoadBalancerStatus: { 1: list('ingress', 'IngressLoadBalancerIngress') },
  IngressLoadBalancerIngress: { 1: s('ip'), 2: s('hostname'), 4: list('ports', 'PortStatus') },

  // authentication.k8s.io/v1, what `kubectl create token` sends to serviceaccounts/<name>/token.
  TokenRequest: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'TokenRequestSpec'), 3: m('status', 'TokenRequestStatus') },
  TokenRequestSpec: { 1: list('audiences', 'string'), 3: m('boundObjectRef', 'BoundObjectReference'), 4: m('expirationSeconds', 'int64', { keepZero: true }) },
  BoundObjectReference: { 1: s('kind'), 2: s('apiVersion'), 3: s('name'), 4: s('uid') },
  TokenRequestStatus: { 1: s('token'), 2: m('expirationTimestamp', 'time') },

  // rbac.authorization.k8s.io/v1: what `kubectl create role|clusterrole|rolebinding|clusterrolebinding` sends.
  Role: { 1: m('metadata', 'ObjectMeta'), 2: list('rules', 'PolicyRule') },
  ClusterRole: { 1: m('metadata', 'ObjectMeta'), 2: list('rules', 'PolicyRule'), 3: m('aggregationRule', 'AggregationRule') },
  PolicyRule: {
    1: list('verbs', 'string'),
    2: list('apiGroups', 'string'),
    3: list('resources', 'string'),
    4: list('resourceNames', 'string'),
    5: list('nonResourceURLs', 'string'),
  },
  AggregationRule: { 1: list('clusterRoleSelectors', 'LabelSelector') },
  RoleBinding: { 1: m('metadata', 'ObjectMeta'), 2: list('subjects', 'Subject'), 3: m('roleRef', 'RoleRef') },
  Subject: { 1: s('kind'), 2: s('apiGroup'), 3: s('name'), 4: s('namespace') },
  RoleRef: { 1: s('apiGroup'), 2: s('kind'), 3: s('name') },

  // The reviews `kubectl auth can-i` (with --list) and `kubectl auth whoami` send; SubjectAccessReview for clients that ask for others.
  SelfSubjectAccessReview: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'SelfSubjectAccessReviewSpec'), 3: m('status', 'SubjectAccessReviewStatus') },
  SubjectAccessReviewStatus: { 1: m('allowed', 'bool'), 2: s('reason'), 3: s('evaluationError'), 4: m('denied', 'bool') },
  SelfSubjectAccessReviewSpec: { 1: m('resourceAttributes', 'ResourceAttributes'), 2: m('nonResourceAttributes', 'NonResourceAttributes') },
  ResourceAttributes: { 1: s('namespace'), 2: s('verb'), 3: s('group'), 4: s('version'), 5: s('resource'), 6: s('subresource'), 7: s('name') },
  NonResourceAttributes: { 1: s('path'), 2: s('verb') },
  SubjectAccessReview: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'SubjectAccessReviewSpec'), 3: m('status', 'SubjectAccessReviewStatus') },
  SubjectAccessReviewSpec: {
    1: m('resourceAttributes', 'ResourceAttributes'),
    2: m('nonResourceAttributes', 'NonResourceAttributes'),
    3: s('user'),
    4: list('groups', 'string'),
    6: s('uid'),
  },
  SelfSubjectRulesReview: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'SelfSubjectRulesReviewSpec'), 3: m('status', 'SubjectRulesReviewStatus') },
  SubjectRulesReviewStatus: { 3: m('incomplete', 'bool'), 4: s('evaluationError') },
  SelfSubjectRulesReviewSpec: { 1: s('namespace') },
  SelfSubjectReview: { 1: m('metadata', 'ObjectMeta'), 2: m('status', 'SelfSubjectReviewStatus') },
  SelfSubjectReviewStatus: { 1: m('userInfo', 'AuthUserInfo') },
  AuthUserInfo: { 1: s('username'), 2: s('uid'), 3: list('groups', 'string') },
  TokenReview: { 1: m('metadata', 'ObjectMeta'), 2: m('spec', 'TokenReviewSpec'), 3: m('status', 'TokenReviewStatus') },
  TokenReviewStatus: { 1: m('authenticated', 'bool'), 2: m('user', 'AuthUserInfo'), 3: s('error'), 4: list('audiences', 'string') },
  TokenReviewSpec: { 1: s('token'), 2: list('audiences', 'string') },

  // certificates.k8s.io/v1: what `kubectl certificate approve|deny` sends back to the approval subresource.
  CertificateSigningRequest: {
    1: m('metadata', 'ObjectMeta'),
    2: m('spec', 'CertificateSigningRequestSpec'),
    3: m('status', 'CertificateSigningRequestStatus'),
  },
  CertificateSigningRequestSpec: {
    1: m('request', 'bytes'),
    2: s('username'),
    3: s('uid'),
    4: list('groups', 'string'),
    5: list('usages', 'string'),
    7: s('signerName'),
    8: m('expirationSeconds', 'int32', { keepZero: true }),
  },
  CertificateSigningRequestStatus: { 1: list('conditions', 'CertificateSigningRequestCondition'), 2: m('certificate', 'bytes') },
  CertificateSigningRequestCondition: {
    1: s('type'),
    2: s('reason'),
    3: s('message'),
    4: m('lastUpdateTime', 'time'),
    5: m('lastTransitionTime', 'time'),
    6: s('status'),
  },
};

/** apiVersion/kind → root message. */
export const ROOTS: Record<string, string> = {
  'v1/Namespace': 'Namespace',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/ResourceQuota': 'ResourceQuota',
  'v1/Service': 'Service',
  'apps/v1/Deployment': 'Deployment',
  'networking.k8s.io/v1/Ingress': 'Ingress',
  'authentication.k8s.io/v1/TokenRequest': 'TokenRequest',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'RoleBinding',
  'authentication.k8s.io/v1/TokenReview': 'TokenReview',
  'authentication.k8s.io/v1/SelfSubjectReview': 'SelfSubjectReview',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SubjectAccessReview': 'SubjectAccessReview',
  'authorization.k8s.io/v1/LocalSubjectAccessReview': 'SubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'SelfSubjectRulesReview',
  'certificates.k8s.io/v1/CertificateSigningRequest': 'CertificateSigningRequest',
};
