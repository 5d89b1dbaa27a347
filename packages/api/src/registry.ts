/**
 * The resources the api-server serves: where they live (group/version,
 * namespaced or not), what discovery says of them (kind, short names,
 * categories, verbs) and which subresources they have. One table; discovery,
 * routing, storage keys and OpenAPI are all derived from it.
 */

export type Subresource = 'status' | 'scale' | 'binding' | 'log' | 'exec' | 'attach' | 'portforward' | 'proxy' | 'eviction' | 'token' | 'approval';

export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, lowercase: the REST path segment. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: Subresource[];
  /**
   * The storage identity. Several group/versions may serve one stored
   * resource (events and events.k8s.io events; apps/v1 and extensions/v1beta1
   * deployments): they share `storage`, and objects are stored in the version
   * of the entry whose `storageVersion` is true.
   */
  storage: string;
  storageVersion: boolean;
  /**
   * Served only to read old manifests; not the preferred version. The Kubernetes releases that deprecated and
   * removed it, for the warning a deprecated version's requests get (as kube-apiserver sent while it served them).
   */
  deprecated?: { since: string; removed: string };
  /** Never stored: a create is answered at once (the access and token reviews), as Kubernetes' non-persisted kinds. */
  virtual?: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function r(gv: string, resource: string, kind: string, opts: Partial<Omit<ResourceInfo, 'group' | 'version' | 'resource' | 'kind'>> = {}): ResourceInfo {
  const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
  return {
    group,
    version,
    resource,
    kind,
    singular: opts.singular ?? kind.toLowerCase(),
    namespaced: opts.namespaced ?? true,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    verbs: opts.verbs ?? ALL_VERBS,
    subresources: opts.subresources ?? [],
    storage: opts.storage ?? resource,
    storageVersion: opts.storageVersion ?? true,
    deprecated: opts.deprecated,
    virtual: opts.virtual,
  };
}

/** A version served only for old manifests, stored as the current one. */
const legacy = (deprecated: NonNullable<ResourceInfo['deprecated']>, opts: Partial<ResourceInfo> = {}): Partial<ResourceInfo> => ({
  ...opts,
  storageVersion: false,
  deprecated,
});

/** Every served resource, in discovery order. */
export const RESOURCES: readonly ResourceInfo[] = [
  r('v1', 'bindings', 'Binding', { verbs: ['create'] }),
  r('v1', 'configmaps', 'ConfigMap', { shortNames: ['cm'] }),
  r('v1', 'endpoints', 'Endpoints', { shortNames: ['ep'], singular: 'endpoints' }),
  r('v1', 'events', 'Event', { shortNames: ['ev'] }),
  r('v1', 'limitranges', 'LimitRange', { shortNames: ['limits'] }),
  r('v1', 'namespaces', 'Namespace', {
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status'],
  }),
  r('v1', 'nodes', 'Node', { namespaced: false, shortNames: ['no'], subresources: ['status', 'proxy'] }),
  r('v1', 'pods', 'Pod', {
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'binding', 'log', 'exec', 'attach', 'portforward', 'proxy', 'eviction'],
  }),
  r('v1', 'replicationcontrollers', 'ReplicationController', {
    shortNames: ['rc'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  r('v1', 'resourcequotas', 'ResourceQuota', { shortNames: ['quota'], subresources: ['status'] }),
  r('v1', 'secrets', 'Secret'),
  r('v1', 'serviceaccounts', 'ServiceAccount', { shortNames: ['sa'], subresources: ['token'] }),
  r('v1', 'services', 'Service', {
    shortNames: ['svc'],
    categories: ['all'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status', 'proxy'],
  }),
  r('apps/v1', 'daemonsets', 'DaemonSet', { shortNames: ['ds'], categories: ['all'], subresources: ['status'] }),
  r('apps/v1', 'deployments', 'Deployment', {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  r('apps/v1', 'replicasets', 'ReplicaSet', {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  // Versions Kubernetes no longer serves (apps/v1beta1 and extensions/v1beta1 Deployments since 1.16, the v1beta1
  // Ingresses and IngressClass since 1.22; a 1.32 api-server answers 404 for them). kemu still serves them, converted
  // to and from the stored version, so that the manifests of old tutorials apply; discovery lists them after the
  // current versions, as the last api-servers that served them did.
  r('apps/v1beta1', 'deployments', 'Deployment', legacy({ since: '1.8', removed: '1.16' }, { subresources: ['status', 'scale'] })),
  r('extensions/v1beta1', 'deployments', 'Deployment', legacy({ since: '1.8', removed: '1.16' }, { subresources: ['status', 'scale'] })),
  r('extensions/v1beta1', 'ingresses', 'Ingress', legacy({ since: '1.14', removed: '1.22' }, { shortNames: ['ing'], subresources: ['status'] })),
  r('coordination.k8s.io/v1', 'leases', 'Lease'),
  r('discovery.k8s.io/v1', 'endpointslices', 'EndpointSlice'),
  r('events.k8s.io/v1', 'events', 'Event', { shortNames: ['ev'], storageVersion: false }),
  r('networking.k8s.io/v1', 'ingressclasses', 'IngressClass', { namespaced: false }),
  r('networking.k8s.io/v1', 'ingresses', 'Ingress', { shortNames: ['ing'], subresources: ['status'] }),
  r('networking.k8s.io/v1', 'networkpolicies', 'NetworkPolicy', { shortNames: ['netpol'] }),
  r('networking.k8s.io/v1beta1', 'ingressclasses', 'IngressClass', legacy({ since: '1.19', removed: '1.22' }, { namespaced: false })),
  r('networking.k8s.io/v1beta1', 'ingresses', 'Ingress', legacy({ since: '1.19', removed: '1.22' }, { shortNames: ['ing'], subresources: ['status'] })),
  r('authentication.k8s.io/v1', 'selfsubjectreviews', 'SelfSubjectReview', { namespaced: false, verbs: ['create'], virtual: true }),
  r('authentication.k8s.io/v1', 'tokenreviews', 'TokenReview', { namespaced: false, verbs: ['create'], virtual: true }),
  r('authorization.k8s.io/v1', 'localsubjectaccessreviews', 'LocalSubjectAccessReview', { verbs: ['create'], virtual: true }),
  r('authorization.k8s.io/v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', { namespaced: false, verbs: ['create'], virtual: true }),
  r('authorization.k8s.io/v1', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview', { namespaced: false, verbs: ['create'], virtual: true }),
  r('authorization.k8s.io/v1', 'subjectaccessreviews', 'SubjectAccessReview', { namespaced: false, verbs: ['create'], virtual: true }),
  r('certificates.k8s.io/v1', 'certificatesigningrequests', 'CertificateSigningRequest', {
    namespaced: false,
    shortNames: ['csr'],
    subresources: ['status', 'approval'],
  }),
  r('rbac.authorization.k8s.io/v1', 'clusterrolebindings', 'ClusterRoleBinding', { namespaced: false }),
  r('rbac.authorization.k8s.io/v1', 'clusterroles', 'ClusterRole', { namespaced: false }),
  r('rbac.authorization.k8s.io/v1', 'rolebindings', 'RoleBinding'),
  r('rbac.authorization.k8s.io/v1', 'roles', 'Role'),
];

/** `apps/v1`, or `v1` for the core group. */
export function groupVersion(info: { group: string; version: string }): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

const byPath = new Map<string, ResourceInfo>();
const byKind = new Map<string, ResourceInfo>();
for (const info of RESOURCES) {
  byPath.set(`${info.group}/${info.version}/${info.resource}`, info);
  byKind.set(`${groupVersion(info)}/${info.kind}`, info);
}

/** The resource served at /apis/<group>/<version>/<resource>, if any. */
export function lookupResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return byPath.get(`${group}/${version}/${resource}`);
}

/** The resource for an object's apiVersion and kind, if served. */
export function lookupKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return byKind.get(`${apiVersion}/${kind}`);
}

/** The storage version entry for a resource (the one objects are stored as). */
export function storageInfo(info: ResourceInfo): ResourceInfo {
  if (info.storageVersion) return info;
  const found = RESOURCES.find((x) => x.storage === info.storage && x.storageVersion);
  if (!found) throw new Error(`no storage version for ${info.resource}`);
  return found;
}

/** All distinct stored resources (one per storage identity). */
export function storedResources(): ResourceInfo[] {
  return RESOURCES.filter((x) => x.storageVersion && x.resource !== 'bindings' && !x.virtual);
}

/** Group → its versions, preferred first, for discovery. */
export function groups(): { name: string; versions: string[] }[] {
  const out = new Map<string, string[]>();
  for (const info of RESOURCES) {
    const vs = out.get(info.group) ?? [];
    if (!vs.includes(info.version)) {
      // Preferred (non-deprecated) versions first.
      if (info.deprecated) vs.push(info.version);
      else vs.unshift(info.version);
    }
    out.set(info.group, vs);
  }
  // Groups served only for old manifests go last: clients resolve a bare
  // resource name (`kubectl get ingress`) to the first group that has it.
  const legacyOnly = (name: string) => RESOURCES.filter((r) => r.group === name).every((r) => r.deprecated);
  return [...out.entries()].map(([name, versions]) => ({ name, versions })).sort((a, b) => Number(legacyOnly(a.name)) - Number(legacyOnly(b.name)));
}

/** Resources served at one group/version. */
export function resourcesOf(group: string, version: string): ResourceInfo[] {
  return RESOURCES.filter((x) => x.group === group && x.version === version);
}

/** The warning kube-apiserver sent with every request to a deprecated version (`kubectl` prints it as "Warning: ..."). */
export function deprecationWarning(info: ResourceInfo): string | undefined {
  if (!info.deprecated) return undefined;
  const now = storageInfo(info);
  return `${groupVersion(info)} ${info.kind} is deprecated in v${info.deprecated.since}+, unavailable in v${info.deprecated.removed}+; use ${groupVersion(now)} ${now.kind}`;
}

/** What a subresource answers with in discovery. */
export function subresourceKind(info: ResourceInfo, sub: Subresource): { group: string; version: string; kind: string; verbs: string[] } {
  switch (sub) {
    case 'status':
    case 'approval':
      return { group: info.group, version: info.version, kind: info.kind, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      return { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
    case 'binding':
      return { group: '', version: 'v1', kind: 'Binding', verbs: ['create'] };
    case 'eviction':
      return { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] };
    case 'token':
      return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
    case 'log':
      return { group: '', version: 'v1', kind: 'Pod', verbs: ['get'] };
    case 'exec':
    case 'attach':
    case 'portforward':
      return {
        group: '',
        version: 'v1',
        kind: sub === 'exec' ? 'PodExecOptions' : sub === 'attach' ? 'PodAttachOptions' : 'PodPortForwardOptions',
        verbs: ['create', 'get'],
      };
    case 'proxy':
      return {
        group: '',
        version: 'v1',
        kind: `${info.kind}ProxyOptions`,
        verbs: ['create', 'delete', 'get', 'patch', 'update'],
      };
  }
}
