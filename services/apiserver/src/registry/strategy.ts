/**
 * The per-kind parts of Kubernetes' REST strategies that decide what a
 * create or an update does to metadata.generation and status (each kind's
 * PrepareForCreate / PrepareForUpdate in pkg/registry/<group>/<kind>/strategy.go,
 * as of 1.32). Pure.
 */
import { jsonEqual, qosClass, type KubeObject, type ResourceInfo } from '@kemu/api';

type Json = Record<string, unknown>;
const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Kinds whose PrepareForCreate sets `generation: 1`, and whose
 * PrepareForUpdate bumps it. Pods (1.33+), Services, Namespaces, Nodes,
 * ConfigMaps and the like have none.
 */
const GENERATION = new Set([
  'deployments',
  'replicasets',
  'replicationcontrollers',
  'daemonsets',
  'ingresses',
  'ingressclasses',
  'endpointslices',
  'networkpolicies',
]);

/**
 * Create: a status the request carries is not the caller's to set. Nodes
 * keep theirs (kubelets register a Node with its status, and Kubernetes'
 * node strategy allows every field on create); a Pod starts Pending with
 * its QoS class; a Namespace Active. Call after mutating admission (the
 * QoS class reads the resources LimitRanger may have filled in).
 */
export function prepareForCreate(info: ResourceInfo, input: KubeObject): KubeObject {
  const obj: KubeObject = { ...input, metadata: { ...input.metadata } };
  if (GENERATION.has(info.storage)) obj.metadata.generation = 1;
  const spec: unknown = obj.spec;
  switch (info.storage) {
    case 'nodes':
      break;
    case 'pods': {
      const status: Json = { phase: 'Pending', qosClass: qosClass(isJson(spec) ? spec : {}) };
      // applySchedulingGatedCondition: a gated pod says why it waits.
      const gates = isJson(spec) ? spec.schedulingGates : undefined;
      if (Array.isArray(gates) && gates.length > 0) {
        status.conditions = [
          {
            type: 'PodScheduled',
            status: 'False',
            lastProbeTime: null,
            lastTransitionTime: null,
            reason: 'SchedulingGated',
            message: 'Scheduling is blocked due to non-empty scheduling gates',
          },
        ];
      }
      obj.status = status;
      break;
    }
    case 'namespaces': {
      obj.status = { phase: 'Active' };
      // The kubernetes finalizer is required on create, added to the ones asked for.
      const asked = isJson(spec) && Array.isArray(spec.finalizers) ? (spec.finalizers as unknown[]) : [];
      if (!asked.includes('kubernetes')) obj.spec = { ...(isJson(spec) ? spec : {}), finalizers: [...asked, 'kubernetes'] };
      break;
    }
    default:
      if (info.subresources.includes('status')) obj.status = {};
  }
  return obj;
}

/** Everything an EndpointSlice holds but its metadata. */
const content = (o: KubeObject): Json => Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'metadata'));

/**
 * Update of the main resource: whether metadata.generation goes up. A
 * Deployment's annotations count too, because they are copied to its
 * ReplicaSets; an EndpointSlice counts everything but its metadata, and its
 * labels.
 */
export function bumpsGeneration(info: ResourceInfo, next: KubeObject, cur: KubeObject): boolean {
  if (!GENERATION.has(info.storage)) return false;
  const spec: unknown = next.spec;
  const oldSpec: unknown = cur.spec;
  switch (info.storage) {
    case 'deployments':
      return !jsonEqual(spec, oldSpec) || !jsonEqual(next.metadata.annotations ?? {}, cur.metadata.annotations ?? {});
    case 'endpointslices':
      return !jsonEqual(content(next), content(cur)) || !jsonEqual(next.metadata.labels ?? {}, cur.metadata.labels ?? {});
    default:
      return !jsonEqual(spec, oldSpec);
  }
}

/**
 * Update of the status subresource: the stored metadata, with what the
 * kind's status strategy lets through from the request. A Deployment's
 * annotations do (its status strategy resets only spec and labels): the
 * deployment controller writes the revision annotation with its status, as
 * Kubernetes' does, so that it does not bump the generation.
 */
export function statusUpdateMetadata(info: ResourceInfo, cur: KubeObject, incoming: KubeObject): KubeObject['metadata'] {
  if (info.storage !== 'deployments') return cur.metadata;
  const meta = { ...cur.metadata, annotations: incoming.metadata?.annotations };
  if (meta.annotations === undefined) delete meta.annotations;
  return meta;
}
