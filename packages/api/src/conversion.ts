/**
 * Conversion between the old group/versions that tutorials still use and the
 * storage versions: apps/v1beta1 and extensions/v1beta1 Deployments, and
 * extensions/v1beta1 Ingresses. Pure.
 */
import { groupVersion, storageInfo, type ResourceInfo } from './registry.js';
import type { KubeObject } from './types.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const isPlainObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function backendToV1(b: Obj | undefined): Obj | undefined {
  if (!isPlainObject(b)) return b;
  if (b.serviceName === undefined && b.servicePort === undefined) return b;
  const port = typeof b.servicePort === 'number' ? { number: b.servicePort } : /^\d+$/.test(String(b.servicePort)) ? { number: Number(b.servicePort) } : { name: b.servicePort };
  const out: Obj = { service: { name: b.serviceName, port } };
  if (b.resource) out.resource = b.resource;
  return out;
}

function backendFromV1(b: Obj | undefined): Obj | undefined {
  if (!isPlainObject(b) || !isPlainObject(b.service)) return b;
  const port = b.service.port ?? {};
  return { serviceName: b.service.name, servicePort: port.number ?? port.name };
}

function mapIngressBackends(spec: Obj, fn: (b: Obj | undefined) => Obj | undefined, defaultKeyFrom: string, defaultKeyTo: string): void {
  if (spec[defaultKeyFrom] !== undefined) {
    spec[defaultKeyTo] = fn(spec[defaultKeyFrom]);
    if (defaultKeyFrom !== defaultKeyTo) delete spec[defaultKeyFrom];
  }
  for (const r of Array.isArray(spec.rules) ? spec.rules : []) {
    for (const p of r?.http?.paths ?? []) if (isPlainObject(p)) p.backend = fn(p.backend);
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

function renameFields(obj: Obj, pairs: [string, string][]): void {
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
  const obj = structuredClone(input) as Obj;
  obj.apiVersion = groupVersion(target);
  obj.kind = target.kind;
  if (info.storage === 'deployments' && isPlainObject(obj.spec)) {
    // v1beta1 defaulted the selector from the template's labels.
    const labels = obj.spec.template?.metadata?.labels;
    if (!obj.spec.selector && isPlainObject(labels)) obj.spec.selector = { matchLabels: { ...labels } };
    delete obj.spec.rollbackTo;
    if (!obj.metadata?.labels && isPlainObject(labels)) obj.metadata = { ...(obj.metadata ?? {}), labels: { ...labels } };
  }
  if (info.storage === 'events') renameFields(obj, EVENT_FIELDS);
  if (info.storage === 'ingresses' && isPlainObject(obj.spec)) {
    mapIngressBackends(obj.spec, backendToV1, 'backend', 'defaultBackend');
    for (const r of Array.isArray(obj.spec.rules) ? obj.spec.rules : []) {
      for (const p of r?.http?.paths ?? []) if (isPlainObject(p) && !p.pathType) p.pathType = 'ImplementationSpecific';
    }
  }
  return obj as KubeObject;
}

/** Convert a stored object to the version `info` serves. */
export function fromStorage(info: ResourceInfo, stored: KubeObject): KubeObject {
  if (info.storageVersion) return stored;
  const obj = structuredClone(stored) as Obj;
  obj.apiVersion = groupVersion(info);
  obj.kind = info.kind;
  if (info.storage === 'events') renameFields(obj, EVENT_FIELDS.map(([a, b]) => [b, a] as [string, string]));
  if (info.storage === 'ingresses' && isPlainObject(obj.spec)) mapIngressBackends(obj.spec, backendFromV1, 'defaultBackend', 'backend');
  return obj as KubeObject;
}
