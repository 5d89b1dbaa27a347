/**
 * Facts about Services and their Pods that the Endpoints, EndpointSlice and
 * EndpointSlice mirroring controllers share (Kubernetes' k8s.io/endpointslice/util):
 * which pods belong in endpoints, a named port looked up in a pod, which
 * Services a pod change touches, the last-change trigger time. All pure but
 * the trigger-time tracker, which remembers what the previous sync saw.
 */
import { StatusError, type KubeObject } from '@kemu/api';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { EndpointPort, ObjectReference, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const ANNOTATION_LEADER = 'control-plane.alpha.kubernetes.io/leader';

/** The cache holds plain Kubernetes JSON; these views give it its real shape. */
export const asPod = (o: KubeObject): Pod => o as Pod;
export const asService = (o: KubeObject): Service => o as Service;
/** Back to what the client writes: every object we write has metadata. */
export const toKube = <T extends { metadata?: ObjectMeta }>(o: T): KubeObject => ({ ...o, metadata: { ...(o.metadata ?? {}) } });

/** Metadata for an update of an existing object: a name replaces generateName. */
export function named(meta: ObjectMeta | undefined, name: string | undefined, resourceVersion: string | undefined): ObjectMeta {
  const out: ObjectMeta = { ...meta, name, resourceVersion };
  delete (out as { generateName?: string }).generateName;
  return out;
}

/** The sync found the informer cache behind the controller's own last write: retry later, with back-off. */
export class StaleCacheError extends Error {
  constructor(what: string) {
    super(`${what} informer cache is out of date`);
    this.name = 'StaleCacheError';
  }
}

/**
 * A create refused because the namespace is being deleted (a Forbidden with the
 * NamespaceTerminating cause): creates will keep failing, so the sync drops the
 * work, as Kubernetes' controllers do, instead of retrying until the namespace is gone.
 */
export function isNamespaceTerminating(e: unknown): boolean {
  return e instanceof StatusError && e.code === 403 && (e.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

/**
 * Does the Service select pods? Kubernetes asks `selector == nil`; a stored
 * `selector: {}` comes back from its protobuf storage as nil, so an empty
 * one selects nothing here too.
 */
export function hasSelector(svc: Service): boolean {
  return Object.keys(svc.spec?.selector ?? {}).length > 0;
}

export function selects(svc: Service, labels: Record<string, string> | undefined): boolean {
  return hasSelector(svc) && Object.entries(svc.spec!.selector!).every(([k, v]) => labels?.[k] === v);
}

export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The pod's IPv4 address (kemu's pod network is IPv4): podIPs first, podIP for an older writer. */
export function podIPv4(pod: Pod): string | undefined {
  const ips = pod.status?.podIPs?.map((p) => p.ip ?? '') ?? [pod.status?.podIP ?? ''];
  return ips.find((ip) => ip && !ip.includes(':'));
}

/** The pod's address of one family; IPv6 only from podIPs. */
export function podIP(pod: Pod, family: 'IPv4' | 'IPv6'): string | undefined {
  return family === 'IPv4' ? podIPv4(pod) : pod.status?.podIPs?.map((p) => p.ip ?? '').find((x) => x.includes(':'));
}

/** ShouldPodBeInEndpoints: not finished, has an IP, and not terminating unless those are wanted. */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return false;
  if (!pod.status?.podIP && !pod.status?.podIPs?.length) return false;
  return includeTerminating || !pod.metadata?.deletionTimestamp;
}

/** A pod gets a DNS hostname under a headless Service named like its subdomain. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

export function isServiceIPSet(svc: Service): boolean {
  return !!svc.spec?.clusterIP && svc.spec.clusterIP !== 'None';
}

/**
 * FindPort: a numeric targetPort is itself; a named one is looked up among
 * the pod's container ports of the same protocol (sidecars too), so pods of
 * one Service can serve the same name on different numbers.
 */
export function findPort(pod: Pod, port: ServicePort): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = port.protocol ?? 'TCP';
  const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  for (const c of [...(pod.spec?.containers ?? []), ...sidecars]) {
    const hit = (c.ports ?? []).find((p) => p.name === target && (p.protocol ?? 'TCP') === protocol);
    if (hit) return hit.containerPort;
  }
  return undefined;
}

export function podReference(pod: Pod): ObjectReference {
  return { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
}

/** One pod behind a Service, as both the Endpoints and the EndpointSlice controller list it. */
export interface PodEndpoint {
  pod: Pod;
  /** Its address of the family asked for. */
  ip: string;
  /** Its Ready condition (an endpoint's ready, or a slice endpoint's serving). */
  podReady: boolean;
  /** Where the endpoint points: the pod, its node, its DNS hostname under this Service. */
  target: { targetRef: ObjectReference; nodeName?: string; hostname?: string };
  /** The Service's ports resolved for this pod, named as the Service names them; a port the pod lacks is left out. */
  ports: EndpointPort[];
}

/**
 * What podToEndpointAddressForService and podToEndpoint both start from: the
 * pods that belong in endpoints (ShouldPodBeInEndpoints; terminating ones only
 * when wanted) and have an address of the family, with their target and ports.
 */
export function podEndpoints(svc: Service, pods: readonly Pod[], o: { family: 'IPv4' | 'IPv6'; includeTerminating: boolean }): PodEndpoint[] {
  const out: PodEndpoint[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, o.includeTerminating)) continue;
    const ip = podIP(pod, o.family);
    if (!ip) continue;
    const target: PodEndpoint['target'] = { targetRef: podReference(pod) };
    if (pod.spec?.nodeName) target.nodeName = pod.spec.nodeName;
    if (shouldSetHostname(pod, svc)) target.hostname = pod.spec!.hostname;
    out.push({ pod, ip, podReady: isPodReady(pod), target, ports: resolvedPorts(svc, pod) });
  }
  return out;
}

/** getEndpointPorts: each Service port whose target this pod has, as a port of its endpoints. */
function resolvedPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    out.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

/** Annotations with the last-change trigger time set to `t` (as Kubernetes writes it), or without one when there is none. */
export function withTriggerTime(annotations: Record<string, string> | undefined, t: number | undefined): Record<string, string> {
  const out = { ...(annotations ?? {}) };
  if (t !== undefined) out[ANNOTATION_TRIGGER_TIME] = rfc3339Nano(t);
  else delete out[ANNOTATION_TRIGGER_TIME];
  return out;
}

/** Labels with `service.kubernetes.io/headless` for a Service without a ClusterIP, and without it for one with. */
export function withHeadless(labels: Record<string, string> | undefined, svc: Service): Record<string, string> {
  const out = { ...(labels ?? {}) };
  if (!isServiceIPSet(svc)) out[LABEL_HEADLESS] = '';
  else delete out[LABEL_HEADLESS];
  return out;
}

/** Equal object references, the pod's resourceVersion aside (a pod's annotation change must not rewrite endpoints). */
export function sameReference(a: ObjectReference | undefined, b: ObjectReference | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.kind === b.kind &&
    a.namespace === b.namespace &&
    a.name === b.name &&
    a.uid === b.uid &&
    (a.apiVersion ?? '') === (b.apiVersion ?? '') &&
    (a.fieldPath ?? '') === (b.fieldPath ?? '')
  );
}

const serviceKey = (s: Service) => `${s.metadata?.namespace}/${s.metadata?.name}`;

/** The keys of the Services in the pod's namespace whose selector matches these labels. */
export function servicesSelecting(services: readonly Service[], namespace: string | undefined, labels: Record<string, string> | undefined): Set<string> {
  return new Set(services.filter((s) => s.metadata?.namespace === namespace && selects(s, labels)).map(serviceKey));
}

/**
 * Which Services must re-sync after a pod changed (GetServicesToUpdateOnPodChange):
 * none for a resync or a change endpoints do not show (an annotation, a container
 * restart count); the pod's Services when readiness, IPs or deletion changed —
 * each event carries the pod as it is now, so nothing here remembers readiness;
 * when the labels changed, the Services it joined or left (all of both when the
 * pod changed too).
 */
export function servicesToUpdateOnPodChange(services: readonly Service[], oldPod: Pod, newPod: Pod): Set<string> {
  if (oldPod.metadata?.resourceVersion === newPod.metadata?.resourceVersion) return new Set();
  const ips = (p: Pod) => (p.status?.podIPs ?? []).map((x) => x.ip).join(',') + `|${p.status?.podIP ?? ''}`;
  const podChanged =
    (oldPod.metadata?.deletionTimestamp ?? '') !== (newPod.metadata?.deletionTimestamp ?? '') ||
    isPodReady(oldPod) !== isPodReady(newPod) ||
    ips(oldPod) !== ips(newPod) ||
    // Finishing (Succeeded/Failed) takes a pod out of every endpoint list.
    oldPod.status?.phase !== newPod.status?.phase;
  const labelsChanged =
    JSON.stringify(sortedEntries(oldPod.metadata?.labels)) !== JSON.stringify(sortedEntries(newPod.metadata?.labels)) ||
    oldPod.spec?.hostname !== newPod.spec?.hostname ||
    oldPod.spec?.subdomain !== newPod.spec?.subdomain;
  if (!podChanged && !labelsChanged) return new Set();
  const ns = newPod.metadata?.namespace;
  const now = servicesSelecting(services, ns, newPod.metadata?.labels);
  if (!labelsChanged) return now;
  const before = servicesSelecting(services, ns, oldPod.metadata?.labels);
  if (podChanged) return new Set([...now, ...before]);
  return new Set([...now, ...before].filter((k) => now.has(k) !== before.has(k)));
}

const sortedEntries = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Go's time.RFC3339Nano in UTC: fractional seconds only when there are some, trailing zeros dropped. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/(\.\d*?)0+Z$/, '$1Z')
    .replace(/\.Z$/, 'Z');
}

/**
 * TriggerTimeTracker: the time of the earliest change (a pod's Ready
 * transition, the Service's creation) not yet reflected in the Service's
 * endpoints, exported as `endpoints.kubernetes.io/last-change-trigger-time`
 * so that kube-proxy can measure network programming latency. The first
 * sync of a Service reports its creation time; a sync with no new change, none.
 */
export class TriggerTimeTracker {
  private states = new Map<string, { service: number; pods: Map<string, number> }>();

  compute(svc: Service, pods: readonly Pod[]): number | undefined {
    const key = serviceKey(svc);
    const prev = this.states.get(key);
    let min: number | undefined;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const ready = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready');
      const t = Date.parse(ready?.lastTransitionTime ?? '');
      if (!Number.isFinite(t)) continue;
      podTimes.set(pod.metadata!.name!, t);
      if (t > (prev?.pods.get(pod.metadata!.name!) ?? -Infinity)) min = min === undefined ? t : Math.min(min, t);
    }
    const created = Date.parse(svc.metadata?.creationTimestamp ?? '') || 0;
    if (created > (prev?.service ?? -Infinity)) min = min === undefined ? created : Math.min(min, created);
    this.states.set(key, { service: created, pods: podTimes });
    return prev ? min : created || undefined;
  }

  delete(key: string): void {
    this.states.delete(key);
  }
}

/** An EndpointSlice's version: the api-server's resourceVersion is etcd's revision, so later writes compare greater. */
export const versionOf = (o: { metadata?: { resourceVersion?: string } }): number => Number(o.metadata?.resourceVersion ?? 0) || 0;
