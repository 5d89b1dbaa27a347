/** The cluster's lists, as the api-server answers them, made into a timeline snapshot. Pure. */
import type { ReplicaSetList } from 'kubernetes-types/apps/v1.js';
import type { LeaseList } from 'kubernetes-types/coordination/v1.js';
import type { NodeList, PodList } from 'kubernetes-types/core/v1.js';
import type { EndpointSliceList } from 'kubernetes-types/discovery/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { EndpointsView, Snapshot } from './timeline.js';

export interface ClusterLists {
  nodes: NodeList;
  pods: PodList;
  slices: EndpointSliceList;
  replicasets: ReplicaSetList;
  leases: LeaseList;
}

const SERVICE_NAME = 'kubernetes.io/service-name';

/** The workload a pod belongs to, named as WorkloadView names it. */
function ownerOf(ns: string | undefined, refs: OwnerReference[] | undefined): string | undefined {
  const ref = (refs ?? []).find((r) => r.controller);
  return ref ? `${ref.kind}/${ns}/${ref.name}` : undefined;
}

export function toSnapshot(t: number, l: ClusterLists): Snapshot {
  const byService = new Map<string, string[]>();
  for (const s of l.slices.items) {
    const svc = s.metadata?.labels?.[SERVICE_NAME];
    if (!svc) continue;
    const key = `${s.metadata?.namespace}/${svc}`;
    // Ready as EndpointSlice consumers read it: an absent condition means ready.
    const nodes = (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).map((e) => e.nodeName ?? '');
    byService.set(key, [...(byService.get(key) ?? []), ...nodes]);
  }
  const endpoints: EndpointsView[] = [...byService].map(([service, nodes]) => ({ service, nodes }));
  return {
    t,
    nodes: l.nodes.items.map((n) => ({
      name: n.metadata?.name ?? '',
      ready: (n.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status ?? 'Unknown',
    })),
    pods: l.pods.items.map((p) => ({
      uid: p.metadata?.uid ?? '',
      name: `${p.metadata?.namespace}/${p.metadata?.name}`,
      node: p.spec?.nodeName,
      ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      deleting: !!p.metadata?.deletionTimestamp,
      // Bound to their node for good, never evicted: a DaemonSet's pods, and mirror pods (owned by their Node).
      daemon: (p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet' || o.kind === 'Node'),
      owner: ownerOf(p.metadata?.namespace, p.metadata?.ownerReferences),
    })),
    endpoints,
    // The workloads that keep replicas (kemu has no StatefulSets).
    workloads: l.replicasets.items.map((r) => ({ name: `ReplicaSet/${r.metadata?.namespace}/${r.metadata?.name}`, desired: r.spec?.replicas ?? 1 })),
    leases: l.leases.items.map((x) => ({ name: x.metadata?.name ?? '', holder: x.spec?.holderIdentity ?? '' })),
  };
}
