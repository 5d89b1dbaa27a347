/**
 * Workloads for the controller tests: apps/v1 objects in namespace `ns` whose
 * selector and pod template both say `app: <app>`, with one container.
 */
import type { DaemonSet, Deployment, DeploymentSpec, ReplicaSet, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { Obj } from '../typed.js';

interface Kinds {
  ReplicaSet: ReplicaSet;
  Deployment: Deployment;
  DaemonSet: DaemonSet;
}

export interface WorkloadOpts {
  /** The workload's own metadata (name `web` and namespace `ns` unless given). */
  metadata?: ObjectMeta;
  /** The pods' `app` label (`web`), container name (`c`) and image (`nginx`). */
  app?: string;
  container?: string;
  image?: string;
  /** Not for a DaemonSet. */
  replicas?: number;
  /** More of the spec: a Deployment's strategy, revisionHistoryLimit. */
  spec?: Partial<DeploymentSpec>;
  /** A ReplicaSet's. */
  status?: ReplicaSetStatus;
}

export function workload<K extends keyof Kinds>(kind: K, o: WorkloadOpts = {}): Obj<Kinds[K]> {
  const app = o.app ?? 'web';
  const metadata: ObjectMeta = { name: 'web', namespace: 'ns', ...o.metadata };
  const obj = {
    apiVersion: 'apps/v1',
    kind,
    metadata,
    spec: {
      ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
      selector: { matchLabels: { app } },
      ...o.spec,
      template: { metadata: { labels: { app } }, spec: { containers: [{ name: o.container ?? 'c', image: o.image ?? 'nginx' }] } },
    },
    ...(o.status ? { status: o.status } : {}),
  };
  return obj as unknown as Obj<Kinds[K]>;
}

/** The reference a controlling owner of this kind puts on what it owns. */
export function controllerRef(kind: keyof Kinds, name: string, uid: string): OwnerReference {
  return { apiVersion: 'apps/v1', kind, name, uid, controller: true };
}
