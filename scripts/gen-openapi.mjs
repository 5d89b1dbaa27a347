#!/usr/bin/env node
// Regenerates services/apiserver/src/openapi/definitions.json: the OpenAPI
// schemas (types, required fields, descriptions) of every kind the
// api-server serves, built from the Kubernetes models that
// @kubernetes/client-node ships. Run with `npm run gen:openapi`; the output is
// committed and CI fails when it is stale.
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'test', 'package.json'));
const modelsDir = join(dirname(require.resolve('@kubernetes/client-node')), 'gen', 'models');

// The served kinds and the client-node model for each.
const ROOTS = {
  'core/v1': ['Namespace', 'Pod', 'Service', 'Endpoints', 'Node', ['CoreV1Event', 'Event'], 'ConfigMap', 'Secret', 'ServiceAccount', 'ResourceQuota', 'LimitRange', 'ReplicationController', 'Binding'],
  'apps/v1': ['Deployment', 'ReplicaSet', 'DaemonSet'],
  'discovery.k8s.io/v1': ['EndpointSlice'],
  'networking.k8s.io/v1': ['Ingress', 'IngressClass', 'NetworkPolicy'],
  'coordination.k8s.io/v1': ['Lease'],
  'events.k8s.io/v1': [['EventsV1Event', 'Event']],
  'autoscaling/v1': ['Scale'],
  'rbac.authorization.k8s.io/v1': ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'],
  'certificates.k8s.io/v1': ['CertificateSigningRequest'],
};

const META = new Set(['ObjectMeta', 'ListMeta', 'LabelSelector', 'LabelSelectorRequirement', 'OwnerReference', 'ManagedFieldsEntry', 'Condition', 'MicroTime', 'Time', 'Status', 'StatusDetails', 'StatusCause', 'DeleteOptions', 'Preconditions']);
function pkgOf(name) {
  if (META.has(name)) return 'io.k8s.apimachinery.pkg.apis.meta.v1';
  if (/^(Deployment|ReplicaSet|DaemonSet|RollingUpdate)/.test(name)) return 'io.k8s.api.apps.v1';
  if (/^(Ingress|HTTPIngress|IPBlock|ServiceBackendPort|NetworkPolicy)/.test(name)) return 'io.k8s.api.networking.v1';
  if (/^(EndpointSlice|EndpointConditions|EndpointHints|ForZone|ForNode)$/.test(name) || name === 'Endpoint') return 'io.k8s.api.discovery.v1';
  if (/^Lease/.test(name)) return 'io.k8s.api.coordination.v1';
  if (/^(Scale|ScaleSpec|ScaleStatus)$/.test(name)) return 'io.k8s.api.autoscaling.v1';
  if (/^CertificateSigningRequest/.test(name)) return 'io.k8s.api.certificates.v1';
  if (/^(Role|RoleBinding|ClusterRole|ClusterRoleBinding|PolicyRule|RoleRef|Subject|AggregationRule)$/.test(name)) return 'io.k8s.api.rbac.v1';
  return 'io.k8s.api.core.v1';
}
function defName(model) {
  if (model === 'CoreV1Event') return 'io.k8s.api.core.v1.Event';
  if (model === 'EventsV1Event') return 'io.k8s.api.events.v1.Event';
  if (model === 'EventsV1EventSeries') return 'io.k8s.api.events.v1.EventSeries';
  if (model === 'CoreV1EventSeries') return 'io.k8s.api.core.v1.EventSeries';
  if (model === 'DiscoveryV1EndpointPort') return 'io.k8s.api.discovery.v1.EndpointPort';
  if (model === 'CoreV1EndpointPort') return 'io.k8s.api.core.v1.EndpointPort';
  const short = model.replace(/^V\d+(alpha\d+|beta\d+)?/, '');
  return `${pkgOf(short)}.${short}`;
}

function comments(dts) {
  // Map field name -> description, and the class description.
  const fields = {};
  let classDoc = '';
  const re = /\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*(export declare class \w+|'([^']+)'\??:)/g;
  let m;
  while ((m = re.exec(dts))) {
    const text = m[1].split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join(' ').replace(/\s+/g, ' ').trim();
    if (m[2].startsWith('export')) classDoc = text;
    else fields[m[3]] = text;
  }
  const required = new Set([...dts.matchAll(/^\s*'([^']+)':/gm)].map((x) => x[1]));
  for (const k of Object.keys(fields)) fields[k] = fields[k].replace(/\\"/g, '"');
  classDoc = classDoc.replace(/\\"/g, '"');
  return { fields, classDoc, required };
}

// Kubernetes' patchStrategy/patchMergeKey tags (kubectl computes strategic
// merge patches from these extensions; the server's table in
// packages/api/src/patch/strategic-merge.ts says the same).
const PATCH = {
  'V1PodSpec.containers': ['merge', 'name'],
  'V1PodSpec.initContainers': ['merge', 'name'],
  'V1PodSpec.ephemeralContainers': ['merge', 'name'],
  'V1PodSpec.volumes': ['merge,retainKeys', 'name'],
  'V1PodSpec.imagePullSecrets': ['merge', 'name'],
  'V1PodSpec.hostAliases': ['merge', 'ip'],
  'V1PodSpec.topologySpreadConstraints': ['merge', 'topologyKey'],
  'V1PodSpec.resourceClaims': ['merge,retainKeys', 'name'],
  'V1PodSpec.schedulingGates': ['merge', 'name'],
  'V1Container.ports': ['merge', 'containerPort'],
  'V1Container.env': ['merge', 'name'],
  'V1Container.volumeMounts': ['merge', 'mountPath'],
  'V1Container.volumeDevices': ['merge', 'devicePath'],
  'V1ServiceSpec.ports': ['merge', 'port'],
  'V1ObjectMeta.ownerReferences': ['merge', 'uid'],
  'V1ObjectMeta.finalizers': ['merge', undefined],
  'V1NodeStatus.addresses': ['merge', 'type'],
  'V1ServiceAccount.secrets': ['merge', 'name'],
};
const RETAIN_KEYS = new Set(['V1DeploymentStrategy', 'V1Volume', 'V1DaemonSetUpdateStrategy']);

const defs = {};
function schemaForType(type, format) {
  if (type.startsWith('Array<')) return { type: 'array', items: schemaForType(type.slice(6, -1), '') };
  const map = type.match(/^\{ \[key: string\]: (.+); \}$/);
  if (map) return { type: 'object', additionalProperties: schemaForType(map[1], '') };
  switch (type) {
    case 'string':
      return format ? { type: 'string', format } : { type: 'string' };
    case 'number':
      return format === 'double' ? { type: 'number', format } : { type: 'integer', format: format || 'int64' };
    case 'boolean':
      return { type: 'boolean' };
    case 'Date':
    case 'V1MicroTime':
    case 'V1Time':
      return { type: 'string', format: 'date-time' };
    case 'IntOrString':
      return { 'x-kubernetes-int-or-string': true };
    case 'any':
    case 'object':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
  if (!existsSync(join(modelsDir, `${type}.js`))) return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  addModel(type);
  return { allOf: [{ $ref: `#/components/schemas/${defName(type)}` }] };
}

function addModel(model) {
  const name = defName(model);
  if (defs[name]) return;
  defs[name] = {};
  const mod = readFileSync(join(modelsDir, `${model}.js`), 'utf8');
  const dts = readFileSync(join(modelsDir, `${model}.d.ts`), 'utf8');
  const attrs = JSON.parse(mod.match(/attributeTypeMap = (\[[\s\S]*?\]);/)[1]);
  const { fields, classDoc, required } = comments(dts);
  const properties = {};
  for (const a of attrs) {
    const s = schemaForType(a.type, a.format);
    if (fields[a.name]) s.description = fields[a.name];
    const patch = PATCH[`${model}.${a.name}`] ?? (a.name === 'conditions' && a.type.startsWith('Array<') ? ['merge', 'type'] : undefined);
    if (patch) {
      s['x-kubernetes-patch-strategy'] = patch[0];
      if (patch[1]) s['x-kubernetes-patch-merge-key'] = patch[1];
    }
    properties[a.baseName] = s;
  }
  const req = attrs.filter((a) => required.has(a.name)).map((a) => a.baseName);
  defs[name] = { description: classDoc, type: 'object', properties, ...(req.length ? { required: req } : {}), ...(RETAIN_KEYS.has(model) ? { 'x-kubernetes-patch-strategy': 'retainKeys' } : {}) };
}

const gvk = {};
for (const [gv, kinds] of Object.entries(ROOTS)) {
  const [group, version] = gv.split('/');
  for (const k of kinds) {
    const [model, kind] = Array.isArray(k) ? k : [`V1${k}`, k];
    addModel(model);
    gvk[`${group === 'core' ? '' : group}/${version}/${kind}`] = defName(model);
  }
}
if (!readdirSync(modelsDir).length) throw new Error('no models');
const out = { roots: gvk, schemas: Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))) };
writeFileSync(join(root, 'services/apiserver/src/openapi/definitions.json'), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${Object.keys(defs).length} schemas for ${Object.keys(gvk).length} kinds`);
