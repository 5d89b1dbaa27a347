/**
 * The status of an object before any controller has written one. Kinds with
 * a status struct (every kind with a status subresource: Deployment, Pod,
 * Service, Node, Namespace, ResourceQuota, …) always carry `status` in
 * Kubernetes' JSON, even when it is empty, because Go encodes the zero
 * struct as `{}` — plus those of its fields that have no `omitempty`
 * (a ReplicaSet's `replicas: 0`). Kinds without one (ConfigMap, Secret,
 * ServiceAccount, Endpoints, Event, Lease, …) have no `status` at all. Pure.
 */
import type { KubeObject, ResourceInfo } from '@kemu/api';

type Obj = Record<string, unknown>;

/** Status fields Go always encodes (no omitempty), by stored resource. */
const ALWAYS_ENCODED: Record<string, Obj> = {
  replicasets: { replicas: 0 },
  replicationcontrollers: { replicas: 0 },
  daemonsets: { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
  services: { loadBalancer: {} },
  ingresses: { loadBalancer: {} },
};

export const hasStatus = (info: ResourceInfo): boolean => info.subresources.includes('status');

/**
 * `obj` with the status Kubernetes would show: for a kind with a status,
 * what it has plus the always-encoded fields it lacks (appended, so a
 * status a controller wrote keeps its order); unchanged otherwise.
 */
export function withZeroStatus(info: ResourceInfo, obj: KubeObject): KubeObject {
  if (!hasStatus(info)) return obj;
  const cur: unknown = obj.status;
  const status: Obj = cur && typeof cur === 'object' && !Array.isArray(cur) ? { ...(cur as Obj) } : {};
  for (const [k, v] of Object.entries(ALWAYS_ENCODED[info.storage] ?? {})) if (status[k] === undefined) status[k] = structuredClone(v);
  return { ...obj, status };
}
