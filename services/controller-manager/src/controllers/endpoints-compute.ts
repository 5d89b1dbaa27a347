/**
 * What a Service's v1 Endpoints should hold, from the Service and its pods
 * (kube-controller-manager's endpoint controller): pure functions.
 */
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { LABEL_HEADLESS, podEndpoints, sameReference, withHeadless, withTriggerTime } from './endpoint-util.js';

/** More addresses than this in one Endpoints are truncated (and annotated so), as Kubernetes does. */
export const MAX_ENDPOINTS_CAPACITY = 1000;
/** The annotation that says so (its value: `truncated`). */
const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';

/**
 * The Service's subsets, in canonical form: one subset per distinct set of
 * addresses, with every port those addresses serve. Ready pods go to
 * `addresses`, the others to `notReadyAddresses` — all to `addresses` with
 * `publishNotReadyAddresses`, which also keeps terminating pods.
 */
export function desiredSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = !!svc.spec?.publishNotReadyAddresses;
  const raw: EndpointSubset[] = [];
  for (const { ip, podReady, target, ports } of podEndpoints(svc, pods, { family: 'IPv4', includeTerminating: publishNotReady })) {
    const address: EndpointAddress = { ip, ...target };
    const ready = publishNotReady || podReady;
    const add = (ports: EndpointPort[]) => raw.push(ready ? { addresses: [address], ports } : { notReadyAddresses: [address], ports });
    // A headless Service may have no ports: its addresses still count (DNS serves them).
    if (!svc.spec?.ports?.length) {
      if (svc.spec?.clusterIP === 'None') add([]);
      continue;
    }
    for (const p of ports) add([p]);
  }
  return repackSubsets(raw);
}

const addressKey = (a: EndpointAddress) => `${a.ip}|${a.targetRef?.uid ?? ''}`;
const portKey = (p: EndpointPort) => JSON.stringify([p.name ?? '', p.port, p.protocol ?? 'TCP', p.appProtocol ?? '']);
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Addresses by IP then pod uid (LessEndpointAddress). */
const byAddress = (a: EndpointAddress, b: EndpointAddress) => byString(a.ip, b.ip) || byString(a.targetRef?.uid ?? '', b.targetRef?.uid ?? '');

/**
 * RepackSubsets: expand to (address, port, ready) and pack again, so that
 * two computations of the same endpoints compare equal whatever the order of
 * pods. An address not ready for one port is not ready for it, whatever
 * other subsets say. Addresses sort by IP, ports and subsets by value.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const addrs = new Map<string, EndpointAddress>();
  // port key → (address key → ready); '' is the "no ports" sentinel.
  const byPort = new Map<string, { port?: EndpointPort; ready: Map<string, boolean> }>();
  const note = (a: EndpointAddress, port: EndpointPort | undefined, ready: boolean) => {
    const ak = addressKey(a);
    if (!addrs.has(ak)) addrs.set(ak, a);
    const pk = port ? portKey(port) : '';
    const entry = byPort.get(pk) ?? { port, ready: new Map<string, boolean>() };
    byPort.set(pk, entry);
    if (entry.ready.get(ak) !== false) entry.ready.set(ak, ready);
  };
  for (const s of subsets) {
    const ports: (EndpointPort | undefined)[] = s.ports?.length ? s.ports : [undefined];
    for (const p of ports) {
      for (const a of s.addresses ?? []) note(a, p, true);
      for (const a of s.notReadyAddresses ?? []) note(a, p, false);
    }
  }
  // Group the ports by the exact set of (address, ready) that serves them.
  const groups = new Map<string, { ready: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, ready } of byPort.values()) {
    const key = [...ready.entries()]
      .map(([a, r]) => `${a}=${r}`)
      .sort(byString)
      .join(',');
    const g = groups.get(key) ?? { ready, ports: [] };
    groups.set(key, g);
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const { ready, ports } of groups.values()) {
    const pick = (want: boolean) =>
      [...ready.entries()]
        .filter(([, r]) => r === want)
        .map(([a]) => structuredClone(addrs.get(a)!))
        .sort(byAddress);
    const subset: EndpointSubset = {};
    const up = pick(true);
    const down = pick(false);
    if (up.length) subset.addresses = up;
    if (down.length) subset.notReadyAddresses = down;
    if (ports.length) subset.ports = [...ports].sort((a, b) => byString(portKey(a), portKey(b)));
    out.push(subset);
  }
  return out.sort((a, b) => byString(JSON.stringify(a), JSON.stringify(b)));
}

const addressEqual = (a: EndpointAddress, b: EndpointAddress) =>
  a.ip === b.ip && (a.hostname ?? '') === (b.hostname ?? '') && (a.nodeName ?? '') === (b.nodeName ?? '') && sameReference(a.targetRef, b.targetRef);
const listEqual = <T>(a: readonly T[] | undefined, b: readonly T[] | undefined, eq: (x: T, y: T) => boolean) =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((x, i) => eq(x, b![i]));
const portEqual = (a: EndpointPort, b: EndpointPort) => portKey(a) === portKey(b);

/** Subsets equal by value, pods' resourceVersions aside (both sides in canonical form). */
export function subsetsEqual(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  return listEqual(
    a,
    b,
    (x, y) =>
      listEqual(x.addresses, y.addresses, addressEqual) &&
      listEqual(x.notReadyAddresses, y.notReadyAddresses, addressEqual) &&
      listEqual(x.ports, y.ports, portEqual),
  );
}

/**
 * truncateEndpoints: keep at most MAX_ENDPOINTS_CAPACITY addresses, ready ones
 * first, each subset keeping its share. Returns whether anything was cut.
 */
export function truncateSubsets(subsets: EndpointSubset[]): boolean {
  const ready = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0), 0);
  const notReady = subsets.reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0);
  if (ready + notReady <= MAX_ENDPOINTS_CAPACITY) return false;
  const cutReady = ready > MAX_ENDPOINTS_CAPACITY;
  const max = cutReady ? MAX_ENDPOINTS_CAPACITY : MAX_ENDPOINTS_CAPACITY - ready;
  const total = cutReady ? ready : notReady;
  let room = max;
  for (const s of subsets) {
    const n = (cutReady ? s.addresses?.length : s.notReadyAddresses?.length) ?? 0;
    const take = Math.min(Math.ceil((n / total) * max), room);
    if (cutReady) {
      s.addresses = (s.addresses ?? []).slice(0, take);
      delete s.notReadyAddresses;
      room -= s.addresses.length;
    } else {
      s.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, take);
      room -= s.notReadyAddresses.length;
    }
  }
  return true;
}

const labelsEqual = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) => {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => b?.[k] === a?.[k]);
};

/**
 * The Endpoints to write for a Service, or undefined when `current` already
 * says it (subsets, labels and the capacity annotation): an unchanged object is
 * never rewritten. Labels are the Service's, plus `service.kubernetes.io/headless`
 * for a Service without a ClusterIP.
 */
export function endpointsFor(svc: Service, subsets: EndpointSubset[], current: Endpoints | undefined, triggerTime: number | undefined): Endpoints | undefined {
  const count = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 0);
  if (current) {
    const labels = Object.fromEntries(Object.entries(current.metadata?.labels ?? {}).filter(([k]) => k !== LABEL_HEADLESS));
    const capacityOk = count > MAX_ENDPOINTS_CAPACITY ? false : !(ANNOTATION_OVER_CAPACITY in (current.metadata?.annotations ?? {}));
    if (subsetsEqual(current.subsets, subsets) && labelsEqual(labels, svc.metadata?.labels) && capacityOk) return undefined;
  }
  const next: Endpoints = current
    ? structuredClone(current)
    : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.metadata!.name, namespace: svc.metadata!.namespace } };
  next.apiVersion = 'v1';
  next.kind = 'Endpoints';
  const meta = next.metadata!;
  const out = structuredClone(subsets);
  const annotations = withTriggerTime(meta.annotations, triggerTime);
  if (truncateSubsets(out)) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
  else delete annotations[ANNOTATION_OVER_CAPACITY];
  meta.annotations = annotations;
  meta.labels = withHeadless(svc.metadata?.labels, svc);
  if (out.length) next.subsets = out;
  else delete next.subsets;
  return next;
}
