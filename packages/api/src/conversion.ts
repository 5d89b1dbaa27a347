/**
 * Conversion between the old group/versions that tutorials still use and the
 * storage versions: apps/v1beta1 and extensions/v1beta1 Deployments,
 * extensions/v1beta1 and networking.k8s.io/v1beta1 Ingresses and the
 * networking.k8s.io/v1beta1 IngressClass (the same fields as v1). Pure.
 */
import { groupVersion, storageInfo, type ResourceInfo } from './registry.js';
import { isPlainObject, type KubeObject } from './types.js';
import { asArray, asObject, at, jsonText, objectsOf, type JsonObject } from './json.js';

/** An extensions/v1beta1 backend (serviceName, servicePort) as a networking.k8s.io/v1 one (service: name, port). */
function backendToV1(b: unknown): unknown {
  if (!isPlainObject(b)) return b;
  if (b.serviceName === undefined && b.servicePort === undefined) return b;
  const sp = b.servicePort;
  const port = typeof sp === 'number' ? { number: sp } : /^\d+$/.test(jsonText(sp)) ? { number: Number(sp) } : { name: sp };
  const out: JsonObject = { service: { name: b.serviceName, port } };
  if (b.resource) out.resource = b.resource;
  return out;
}

function backendFromV1(b: unknown): unknown {
  // A resource backend (TypedLocalObjectReference) is the same object in every version.
  if (!isPlainObject(b) || !isPlainObject(b.service)) return b;
  const port = asObject(b.service.port) ?? {};
  return { serviceName: b.service.name, servicePort: port.number ?? port.name };
}

function mapIngressBackends(spec: JsonObject, fn: (b: unknown) => unknown, defaultKeyFrom: string, defaultKeyTo: string): void {
  if (spec[defaultKeyFrom] !== undefined) {
    spec[defaultKeyTo] = fn(spec[defaultKeyFrom]);
    if (defaultKeyFrom !== defaultKeyTo) delete spec[defaultKeyFrom];
  }
  for (const r of asArray(spec.rules)) {
    for (const p of objectsOf(at(r, 'http', 'paths'))) p.backend = fn(p.backend);
  }
}

/** events.k8s.io/v1 field names ↔ core v1 Event field names. */
const EVENT_FIELDS: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function renameFields(obj: JsonObject, pairs: [string, string][]): void {
  for (const [from, to] of pairs) {
    if (obj[from] !== undefined) {
      obj[to] = obj[from];
      delete obj[from];
    }
  }
}

/** Convert an object sent at `info`'s version into its storage version. */
export function toStorage(info: ResourceInfo, input: KubeObject): KubeObject {
  const target = storageInfo(info);
  if (target === info) return input;
  const obj: JsonObject = structuredClone(input);
  obj.apiVersion = groupVersion(target);
  obj.kind = target.kind;
  if (info.storage === 'deployments' && isPlainObject(obj.spec)) {
    // v1beta1 defaulted the selector from the template's labels.
    const labels = at(obj.spec, 'template', 'metadata', 'labels');
    if (!obj.spec.selector && isPlainObject(labels)) obj.spec.selector = { matchLabels: { ...labels } };
    delete obj.spec.rollbackTo;
    if (!at(obj.metadata, 'labels') && isPlainObject(labels)) obj.metadata = { ...(asObject(obj.metadata) ?? {}), labels: { ...labels } };
  }
  if (info.storage === 'events') renameFields(obj, EVENT_FIELDS);
  if (info.storage === 'ingresses' && isPlainObject(obj.spec)) {
    mapIngressBackends(obj.spec, backendToV1, 'backend', 'defaultBackend');
    for (const r of asArray(obj.spec.rules)) {
      for (const p of objectsOf(at(r, 'http', 'paths'))) if (!p.pathType) p.pathType = 'ImplementationSpecific';
    }
  }
  // Only fields below metadata changed: still a KubeObject.
  return obj as KubeObject;
}

/** Convert a stored object to the version `info` serves. */
export function fromStorage(info: ResourceInfo, stored: KubeObject): KubeObject {
  if (info.storageVersion) return stored;
  const obj: JsonObject = structuredClone(stored);
  obj.apiVersion = groupVersion(info);
  obj.kind = info.kind;
  if (info.storage === 'events')
    renameFields(
      obj,
      EVENT_FIELDS.map(([a, b]) => [b, a] as [string, string]),
    );
  if (info.storage === 'ingresses' && isPlainObject(obj.spec)) mapIngressBackends(obj.spec, backendFromV1, 'defaultBackend', 'backend');
  // Only fields below metadata changed: still a KubeObject.
  return obj as KubeObject;
}
