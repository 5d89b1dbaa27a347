/**
 * What the EndpointSlice mirroring controller makes of a user's Endpoints
 * (for a Service without a selector): one slice per subset's port set and
 * address type, labelled `endpointslice.kubernetes.io/managed-by:
 * endpointslicemirroring-controller.k8s.io`. Pure functions.
 */
import { isIP } from 'node:net';
import type { EndpointAddress, EndpointPort as CorePort, Endpoints } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ANNOTATION_LEADER, ANNOTATION_TRIGGER_TIME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, named } from './endpoint-util.js';
import { endpointEqualBeyondKey, endpointKey, portsKey, type SliceChanges } from './endpointslice-reconcile.js';

export const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';
/** --mirroring-max-endpoints-per-subset default: one subset fits one slice. */
export const MAX_ENDPOINTS_PER_SUBSET = 1000;
/** An Endpoints labelled so (`true`) is not mirrored: the api-server's own `kubernetes` one is. */
const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
/** kubectl apply's copy of what was applied: it describes the Endpoints, not its slices. */
const ANNOTATION_LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Mirrored unless the Endpoints opts out (skip-mirror, as the api-server's own `kubernetes` one does) or is a leader-election lock. */
export function shouldMirror(ep: Endpoints): boolean {
  return ep.metadata?.labels?.[LABEL_SKIP_MIRROR] !== 'true' && !(ANNOTATION_LEADER in (ep.metadata?.annotations ?? {}));
}

export interface MirrorResult extends SliceChanges {
  /** Addresses that are not IPs; they are not mirrored. */
  invalid: number;
  /** Addresses beyond MAX_ENDPOINTS_PER_SUBSET in a subset. */
  overCapacity: number;
}

/** The Endpoints' annotations a slice carries: all but the trigger time and kubectl's last-applied copy. */
const mirroredAnnotations = (m: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => k !== ANNOTATION_TRIGGER_TIME && k !== ANNOTATION_LAST_APPLIED));
const withoutKeys = (m: Record<string, string> | undefined, ...keys: string[]) =>
  Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !keys.includes(k)));
const sameMap = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => a[k] === b[k]);

function newSlice(ep: Endpoints, ports: EndpointPort[], addressType: string, name: string | undefined): EndpointSlice {
  const meta = ep.metadata!;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      ...(name ? { name } : { generateName: `${meta.name}-` }),
      namespace: meta.namespace,
      labels: { ...(meta.labels ?? {}), [LABEL_SERVICE_NAME]: meta.name!, [LABEL_MANAGED_BY]: MIRRORING_CONTROLLER },
      annotations: mirroredAnnotations(meta.annotations),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: meta.name!, uid: meta.uid!, controller: true, blockOwnerDeletion: true }],
    },
    addressType,
    ports,
    endpoints: [],
  };
}

const slicePorts = (ports: readonly CorePort[] | undefined): EndpointPort[] =>
  (ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));

function addressToEndpoint(a: EndpointAddress, ready: boolean): Endpoint {
  const ep: Endpoint = { addresses: [a.ip], conditions: { ready } };
  if (a.targetRef) ep.targetRef = structuredClone(a.targetRef);
  if (a.nodeName) ep.nodeName = a.nodeName;
  if (a.hostname) ep.hostname = a.hostname;
  return ep;
}

/** reconcile: the slice changes that mirror `ep` over the slices it already has. */
export function mirrorSlices(ep: Endpoints, existing: readonly EndpointSlice[], maxPerSubset = MAX_ENDPOINTS_PER_SUBSET): MirrorResult {
  const out: MirrorResult = { create: [], update: [], delete: [], invalid: 0, overCapacity: 0 };
  // addressType|ports key → desired endpoints; every subset's key exists for both types, so emptied ones clear.
  const desired = new Map<string, { type: string; ports: EndpointPort[]; endpoints: Map<string, Endpoint> }>();
  for (const subset of ep.subsets ?? []) {
    const ports = slicePorts(subset.ports);
    for (const type of ['IPv4', 'IPv6'])
      if (!desired.has(`${type}|${portsKey(ports)}`)) desired.set(`${type}|${portsKey(ports)}`, { type, ports, endpoints: new Map() });
    const all: [EndpointAddress, boolean][] = [
      ...(subset.addresses ?? []).map((a): [EndpointAddress, boolean] => [a, true]),
      ...(subset.notReadyAddresses ?? []).map((a): [EndpointAddress, boolean] => [a, false]),
    ];
    let added = 0;
    for (const [address, ready] of all) {
      if (added >= maxPerSubset) {
        out.overCapacity++;
        continue;
      }
      const family = isIP(address.ip);
      if (!family) {
        out.invalid++;
        continue;
      }
      const e = addressToEndpoint(address, ready);
      desired.get(`${family === 4 ? 'IPv4' : 'IPv6'}|${portsKey(ports)}`)!.endpoints.set(endpointKey(e), e);
      added++;
    }
  }
  const existingByKey = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    const k = `${s.addressType}|${portsKey(s.ports)}`;
    existingByKey.set(k, [...(existingByKey.get(k) ?? []), s]);
  }
  for (const [key, { type, ports, endpoints }] of desired) {
    const have = existingByKey.get(key) ?? [];
    if (!endpoints.size) {
      out.delete.push(...have);
      continue;
    }
    // One slice per key: the first is kept (and rewritten if it differs), any others go.
    out.delete.push(...have.slice(1));
    const first = have[0];
    if (first && upToDate(first, ep, endpoints)) continue;
    const slice = newSlice(ep, ports, type, first?.metadata?.name);
    if (first) slice.metadata = { ...slice.metadata, resourceVersion: first.metadata?.resourceVersion };
    for (const e of endpoints.values()) {
      if (slice.endpoints.length >= maxPerSubset) break;
      slice.endpoints.push(e);
    }
    (first ? out.update : out.create).push(slice);
  }
  for (const [key, slices] of existingByKey) if (!desired.has(key)) out.delete.push(...slices);
  recycle(out);
  return out;
}

/** Does this slice already say what the Endpoints say (endpoints, labels, annotations)? */
function upToDate(slice: EndpointSlice, ep: Endpoints, want: Map<string, Endpoint>): boolean {
  const have = slice.endpoints ?? [];
  if (have.length !== want.size) return false;
  for (const e of have) {
    const w = want.get(endpointKey(e));
    if (!w || !endpointEqualBeyondKey(w, e)) return false;
  }
  const labels = withoutKeys(slice.metadata?.labels, LABEL_MANAGED_BY, LABEL_SERVICE_NAME);
  return (
    sameMap(labels, withoutKeys(ep.metadata?.labels, LABEL_MANAGED_BY, LABEL_SERVICE_NAME)) &&
    sameMap(mirroredAnnotations(slice.metadata?.annotations), mirroredAnnotations(ep.metadata?.annotations))
  );
}

/** recycleSlices: a create and a delete of the same address type make one update. */
function recycle(c: SliceChanges): void {
  for (const type of ['IPv4', 'IPv6']) {
    const creates = c.create.filter((s) => s.addressType === type);
    const deletes = c.delete.filter((s) => s.addressType === type);
    for (let i = 0; i < creates.length && i < deletes.length; i++) {
      c.create.splice(c.create.indexOf(creates[i]), 1);
      c.delete.splice(c.delete.indexOf(deletes[i]), 1);
      c.update.push({ ...creates[i], metadata: named(creates[i].metadata, deletes[i].metadata!.name, deletes[i].metadata?.resourceVersion) });
    }
  }
}
