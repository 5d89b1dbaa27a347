/**
 * The scale and binding subresources: Scale (autoscaling/v1) views of
 * workloads' spec.replicas, and pods/binding, which assigns a pod to a node
 * once.
 */
import {
  badRequest,
  conflict,
  formatTime,
  fromLabelSelector,
  invalidError,
  invalid,
  selectorString,
  type KubeObject,
  type LabelSelector,
  type ResourceInfo,
} from '@kemu/api';
import type { Scale } from 'kubernetes-types/autoscaling/v1.js';
import type { Binding, Pod } from 'kubernetes-types/core/v1.js';
import type { RestStore } from './rest.js';
import { applyPatch, type PatchType } from './patch.js';

/**
 * What scale reads of a workload: spec.replicas, status.replicas and the
 * selector (a LabelSelector, or a ReplicationController's plain map).
 */
interface Scalable {
  metadata: KubeObject['metadata'];
  spec?: { replicas?: number; selector?: LabelSelector | Record<string, string> };
  status?: { replicas?: number };
}

const isLabelSelector = (s: LabelSelector | Record<string, string>): s is LabelSelector => 'matchLabels' in s || 'matchExpressions' in s;

/** The Scale object for a workload. */
export function toScale(obj: KubeObject): KubeObject {
  const w = obj as Scalable;
  const sel = w.spec?.selector;
  const selector = sel ? selectorString(fromLabelSelector(isLabelSelector(sel) ? sel : { matchLabels: sel })) : '';
  const m = w.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: w.spec?.replicas ?? 0 },
    status: { replicas: w.status?.replicas ?? 0, selector },
  };
}

function checkReplicas(name: string, replicas: unknown): number {
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw invalidError('Scale', 'autoscaling', name, [invalid('spec.replicas', replicas, 'must be greater than or equal to 0')]);
  }
  return replicas;
}

export async function getScale(rest: RestStore, info: ResourceInfo, ns: string | undefined, name: string): Promise<KubeObject> {
  return toScale(await rest.get(info, ns, name));
}

/** PUT or PATCH of /scale: change spec.replicas only. */
export async function updateScale(
  rest: RestStore,
  info: ResourceInfo,
  ns: string | undefined,
  name: string,
  change: { scale: KubeObject } | { patchType: PatchType; patch: unknown },
  dryRun = false,
): Promise<KubeObject> {
  const expectedRV = 'scale' in change ? change.scale.metadata?.resourceVersion || undefined : undefined;
  const out = await rest.guaranteedUpdate(
    info,
    ns,
    name,
    (cur) => {
      const scale = ('scale' in change ? change.scale : applyPatch(change.patchType, toScale(cur), change.patch)) as Scale;
      const replicas = checkReplicas(name, scale.spec?.replicas);
      const was = cur as Scalable;
      const next: Scalable = { ...was, spec: { ...(was.spec ?? {}), replicas } };
      if (replicas !== was.spec?.replicas) next.metadata = { ...was.metadata, generation: (was.metadata.generation ?? 0) + 1 };
      return next;
    },
    { expectedRV, dryRun },
  );
  return toScale(out);
}

/** POST pods/<name>/binding (or a Binding to /bindings): set spec.nodeName once. */
export async function bindPod(rest: RestStore, podInfo: ResourceInfo, ns: string | undefined, binding: KubeObject, now: Date): Promise<void> {
  const b = binding as Binding;
  const name = b.metadata?.name;
  const node = b.target?.name;
  if (!name) throw badRequest('name is required in a Binding');
  if (!node) throw invalidError('Binding', '', name, [invalid('target.name', node ?? '', 'must not be empty')]);
  await rest.guaranteedUpdate(
    podInfo,
    ns,
    name,
    (cur) => {
      const pod = cur as Pod & { metadata: KubeObject['metadata'] };
      if (pod.metadata.deletionTimestamp) throw conflict('pods/binding', '', name, `pod ${name} is being deleted, cannot be assigned to a host`);
      if (pod.spec?.nodeName) throw conflict('pods/binding', '', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      // lastProbeTime is null in Kubernetes' condition (a zero time), which kubernetes-types does not describe.
      const scheduled = { type: 'PodScheduled', status: 'True', lastProbeTime: null as unknown as string, lastTransitionTime: formatTime(now) };
      const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), scheduled];
      return { ...pod, spec: { ...pod.spec!, nodeName: node }, status: { ...pod.status, conditions } };
    },
    { validate: false },
  );
}
