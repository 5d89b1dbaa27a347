/**
 * What a Service's EndpointSlices should become, from the Service, its pods,
 * the nodes and the slices that exist (k8s.io/endpointslice's Reconciler):
 * a pure function returning the slices to create, update and delete. It
 * keeps churn low as the real one does: endpoints stay in the slice they are
 * in, a changed slice is topped up before a new one is made, a slice that
 * would be deleted is reused for one that would be created.
 */
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import {
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  isServiceIPSet,
  named,
  podEndpoints,
  sameReference,
  withHeadless,
  withTriggerTime,
  type PodEndpoint,
} from './endpoint-util.js';

export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
/** kube-controller-manager's --max-endpoints-per-slice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;
const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface SliceChanges {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

export interface SliceInput {
  service: Service;
  pods: readonly Pod[];
  nodes: ReadonlyMap<string, Node>;
  /** The slices labelled for this Service and this controller, not being deleted. */
  existing: readonly EndpointSlice[];
  maxEndpointsPerSlice?: number;
  /** The last-change trigger time to stamp on every slice written. */
  triggerTime?: number;
}

export interface SliceResult extends SliceChanges {
  /** Pods left out because their node is unknown (not yet in the cache): the caller retries later. */
  missingNodes: string[];
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const portId = (p: EndpointPort) => JSON.stringify([p.name ?? '', p.port ?? 0, p.protocol ?? 'TCP', p.appProtocol ?? '']);
/** Slices group by their exact set of ports (NewPortMapKey), order aside. */
export const portsKey = (ports: readonly EndpointPort[] | undefined) => (ports ?? []).map(portId).sort(byString).join(';');
/** An endpoint's identity (hashEndpoint): its addresses, hostname and pod. Everything else is an update of it. */
export const endpointKey = (e: Endpoint) =>
  JSON.stringify([[...e.addresses].sort(byString), e.hostname ?? '', e.targetRef?.namespace ?? '', e.targetRef?.name ?? '']);

/** EndpointsEqualBeyondHash: same node, zone, conditions and pod (its resourceVersion aside). */
export function endpointEqualBeyondKey(a: Endpoint, b: Endpoint): boolean {
  const c1 = a.conditions ?? {};
  const c2 = b.conditions ?? {};
  return (
    (a.nodeName ?? null) === (b.nodeName ?? null) &&
    (a.zone ?? null) === (b.zone ?? null) &&
    (c1.ready ?? null) === (c2.ready ?? null) &&
    (c1.serving ?? null) === (c2.serving ?? null) &&
    (c1.terminating ?? null) === (c2.terminating ?? null) &&
    sameReference(a.targetRef, b.targetRef)
  );
}

/** The address types a Service has slices of: its IP families (kemu defaults IPv4). */
export function addressTypesFor(svc: Service): Set<string> {
  const fams = svc.spec?.ipFamilies ?? [];
  if (fams.length) return new Set(fams.filter((f) => f === 'IPv4' || f === 'IPv6'));
  return new Set([isServiceIPSet(svc) && svc.spec!.clusterIP!.includes(':') ? 'IPv6' : 'IPv4']);
}

/**
 * podToEndpoint. Since 1.26 a terminating pod stays, not ready, with serving
 * telling whether it still passes its readiness probe; publishNotReadyAddresses
 * makes every endpoint ready.
 */
function podToEndpoint({ pod, ip, podReady: serving, target }: PodEndpoint, node: Node | undefined, svc: Service): Endpoint {
  const terminating = !!pod.metadata?.deletionTimestamp;
  const ep: Endpoint = {
    addresses: [ip],
    conditions: { ready: !!svc.spec?.publishNotReadyAddresses || (serving && !terminating), serving, terminating },
    ...target,
  };
  const zone = node?.metadata?.labels?.[ZONE_LABEL];
  if (zone) ep.zone = zone;
  return ep;
}

const ownedBy = (slice: EndpointSlice, svc: Service) =>
  (slice.metadata?.ownerReferences ?? []).some((o) => o.uid === svc.metadata?.uid && o.kind === 'Service' && o.apiVersion === 'v1');
const isReserved = (k: string) => k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === LABEL_HEADLESS;
const withoutReserved = (m: Record<string, string> | undefined) => Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !isReserved(k)));
const sameMap = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => a[k] === b[k]);

/** setEndpointSliceLabels: the Service's labels plus the reserved ones; changed when the non-reserved ones differ. */
export function sliceLabels(slice: EndpointSlice | undefined, svc: Service, controller: string): { labels: Record<string, string>; changed: boolean } {
  const own = withoutReserved(svc.metadata?.labels);
  const changed = !sameMap(withoutReserved(slice?.metadata?.labels), own);
  const labels = withHeadless(own, svc);
  labels[LABEL_SERVICE_NAME] = svc.metadata!.name!;
  labels[LABEL_MANAGED_BY] = controller;
  return { labels, changed };
}

export function serviceOwnerRef(svc: Service): OwnerReference {
  return { apiVersion: 'v1', kind: 'Service', name: svc.metadata!.name!, uid: svc.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}

function newSlice(svc: Service, ports: EndpointPort[], addressType: string): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata!.name}-`,
      namespace: svc.metadata!.namespace,
      labels: sliceLabels(undefined, svc, ENDPOINTSLICE_CONTROLLER).labels,
      ownerReferences: [serviceOwnerRef(svc)],
    },
    addressType,
    ports,
    endpoints: [],
  };
}

/** The desired endpoints of one port set, by identity; taken in insertion order (pods sorted), so results are repeatable. */
type EndpointSet = Map<string, Endpoint>;
const popAny = (set: EndpointSet): Endpoint => {
  const [k, v] = set.entries().next().value!;
  set.delete(k);
  return v;
};

/** getSliceToFill: the unchanged slice that these endpoints fill closest to full. */
function sliceToFill(slices: EndpointSlice[], n: number, max: number): EndpointSlice | undefined {
  let best: EndpointSlice | undefined;
  let closest = max;
  for (const s of slices) {
    const diff = max - (n + s.endpoints.length);
    if (diff >= 0 && diff < closest) {
      closest = diff;
      best = s;
      if (diff === 0) break;
    }
  }
  return best;
}

/** reconcileByPortMapping: the slices of one port set. */
function reconcilePortSet(
  svc: Service,
  existing: readonly EndpointSlice[],
  desired: EndpointSet,
  ports: EndpointPort[],
  addressType: string,
  max: number,
): SliceChanges {
  const byName = new Map<string, EndpointSlice>();
  const unchanged: string[] = [];
  const toUpdate: string[] = [];
  const toDelete: string[] = [];
  // 1. Keep each existing endpoint still desired where it is, updated; drop the rest.
  for (const slice of existing) {
    const name = slice.metadata!.name!;
    byName.set(name, slice);
    const kept: Endpoint[] = [];
    let changed = false;
    for (const ep of slice.endpoints ?? []) {
      const want = desired.get(endpointKey(ep));
      if (!want) continue;
      kept.push(want);
      if (!endpointEqualBeyondKey(want, ep)) changed = true;
      desired.delete(endpointKey(ep));
    }
    const { labels, changed: labelsChanged } = sliceLabels(slice, svc, ENDPOINTSLICE_CONTROLLER);
    if (changed || kept.length !== (slice.endpoints ?? []).length) {
      if (!kept.length) toDelete.push(name);
      else {
        byName.set(name, { ...structuredClone(slice), endpoints: kept, metadata: { ...structuredClone(slice.metadata), labels } });
        toUpdate.push(name);
      }
    } else if (labelsChanged) {
      byName.set(name, { ...structuredClone(slice), metadata: { ...structuredClone(slice.metadata), labels } });
      toUpdate.push(name);
    } else unchanged.push(name);
  }
  // 2. Top up the slices being written anyway, fullest first.
  if (desired.size && toUpdate.length) {
    const slices = toUpdate.map((n) => byName.get(n)!).sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const s of slices) while (desired.size && s.endpoints.length < max) s.endpoints.push(popAny(desired));
  }
  // 3. The rest: into one unchanged slice they fit in, else into new slices.
  const create: EndpointSlice[] = [];
  while (desired.size) {
    let fill: EndpointSlice | undefined;
    if (desired.size < max && unchanged.length) {
      const found = sliceToFill(
        unchanged.map((n) => byName.get(n)!),
        desired.size,
        max,
      );
      if (found) {
        fill = structuredClone(found);
        byName.set(found.metadata!.name!, fill);
        unchanged.splice(unchanged.indexOf(found.metadata!.name!), 1);
        toUpdate.push(found.metadata!.name!);
      }
    }
    if (!fill) {
      fill = newSlice(svc, ports, addressType);
      create.push(fill);
    }
    while (desired.size && fill.endpoints.length < max) fill.endpoints.push(popAny(desired));
  }
  return { create, update: toUpdate.map((n) => byName.get(n)!), delete: toDelete.map((n) => byName.get(n)!) };
}

const isPlaceholderOf = (slice: EndpointSlice, placeholder: EndpointSlice) =>
  slice.metadata?.namespace === placeholder.metadata?.namespace &&
  sameMap(slice.metadata?.labels ?? {}, placeholder.metadata?.labels ?? {}) &&
  slice.addressType === placeholder.addressType &&
  !(slice.ports ?? []).length &&
  !(slice.endpoints ?? []).length;

/** Reconcile: the changes that make a Service's slices match its pods. */
export function reconcileSlices(input: SliceInput): SliceResult {
  const { service: svc, nodes } = input;
  const max = input.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  const types = addressTypesFor(svc);
  const out: SliceResult = { create: [], update: [], delete: [], missingNodes: [] };
  const existingByType = new Map<string, EndpointSlice[]>();
  for (const s of input.existing) {
    if (!types.has(s.addressType)) out.delete.push(s);
    else existingByType.set(s.addressType, [...(existingByType.get(s.addressType) ?? []), s]);
  }
  const pods = [...input.pods].sort((a, b) => byString(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  for (const addressType of [...types].sort(byString)) {
    const existing = existingByType.get(addressType) ?? [];
    const changes: SliceChanges = { create: [], update: [], delete: [] };
    const existingByPorts = new Map<string, EndpointSlice[]>();
    for (const s of existing) {
      if (!ownedBy(s, svc)) changes.delete.push(s);
      else existingByPorts.set(portsKey(s.ports), [...(existingByPorts.get(portsKey(s.ports)) ?? []), s]);
    }
    const desired = new Map<string, { ports: EndpointPort[]; endpoints: EndpointSet }>();
    // Terminating pods stay in slices (with terminating=true), unlike in v1 Endpoints.
    for (const pe of podEndpoints(svc, pods, { family: addressType === 'IPv4' ? 'IPv4' : 'IPv6', includeTerminating: true })) {
      const node = nodes.get(pe.pod.spec?.nodeName ?? '');
      if (!node && !svc.spec?.publishNotReadyAddresses) {
        out.missingNodes.push(pe.pod.spec?.nodeName ?? '');
        continue;
      }
      // A slice's ports are always named ('' for the one unnamed port).
      const ports = pe.ports.map((p) => ({ name: p.name ?? '', ...p }));
      const key = portsKey(ports);
      const group = desired.get(key) ?? { ports, endpoints: new Map() };
      desired.set(key, group);
      const ep = podToEndpoint(pe, node, svc);
      group.endpoints.set(endpointKey(ep), ep);
    }
    for (const [key, { ports, endpoints }] of desired) {
      const c = reconcilePortSet(svc, existingByPorts.get(key) ?? [], endpoints, ports, addressType, max);
      changes.create.push(...c.create);
      changes.update.push(...c.update);
      changes.delete.push(...c.delete);
    }
    for (const [key, slices] of existingByPorts) if (!desired.has(key)) changes.delete.push(...slices);
    // A Service with no endpoints still has one (empty) slice, so that consumers see it was reconciled.
    if (existing.length === changes.delete.length && !changes.create.length) {
      const placeholder = newSlice(svc, [], addressType);
      if (changes.delete.length === 1 && isPlaceholderOf(changes.delete[0], placeholder)) changes.delete = [];
      else changes.create.push(placeholder);
    }
    out.create.push(...changes.create);
    out.update.push(...changes.update);
    out.delete.push(...changes.delete);
  }
  recycle(out, svc);
  const stamp = (s: EndpointSlice) => {
    s.metadata = { ...s.metadata, annotations: withTriggerTime(s.metadata?.annotations, input.triggerTime) };
  };
  out.create.forEach(stamp);
  out.update.forEach(stamp);
  return out;
}

/**
 * finalize's first step: a slice to create and one to delete make one
 * update, of the slice that would have gone (same address type, ours).
 */
function recycle(c: SliceChanges, svc: Service): void {
  for (let i = 0; i < c.delete.length && c.create.length;) {
    const old = c.delete[i];
    const fresh = c.create[c.create.length - 1];
    if (old.addressType === fresh.addressType && ownedBy(old, svc)) {
      c.create.pop();
      c.update.push({ ...fresh, metadata: named(fresh.metadata, old.metadata!.name, old.metadata?.resourceVersion) });
      c.delete.splice(i, 1);
    } else i++;
  }
}
