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
  type ResourceInfo,
} from '@kemu/api';
import type { RestStore } from './rest.js';
import { applyPatch, type PatchType } from './patch.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The Scale object for a workload. */
export function toScale(obj: KubeObject): KubeObject {
  const sel = obj.spec?.selector;
  const selector = sel ? (sel.matchLabels || sel.matchExpressions ? selectorString(fromLabelSelector(sel)) : selectorString(fromLabelSelector({ matchLabels: sel }))) : '';
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector },
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
      const scale = 'scale' in change ? change.scale : applyPatch(change.patchType, toScale(cur), change.patch);
      const replicas = checkReplicas(name, (scale as Obj).spec?.replicas);
      const next = structuredClone(cur) as Obj;
      next.spec = { ...(next.spec ?? {}), replicas };
      if (replicas !== cur.spec?.replicas) next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
      return next as KubeObject;
    },
    { expectedRV, dryRun },
  );
  return toScale(out);
}

/** POST pods/<name>/binding (or a Binding to /bindings): set spec.nodeName once. */
export async function bindPod(rest: RestStore, podInfo: ResourceInfo, ns: string | undefined, binding: KubeObject, now: Date): Promise<void> {
  const name = binding.metadata?.name;
  const node = binding.target?.name;
  if (!name) throw badRequest('name is required in a Binding');
  if (!node) throw invalidError('Binding', '', name, [invalid('target.name', node ?? '', 'must not be empty')]);
  await rest.guaranteedUpdate(podInfo, ns, name, (cur) => {
    if (cur.metadata.deletionTimestamp) throw conflict('pods/binding', '', name, `pod ${name} is being deleted, cannot be assigned to a host`);
    if (cur.spec?.nodeName) throw conflict('pods/binding', '', name, `pod ${name} is already assigned to node "${cur.spec.nodeName}"`);
    const next = structuredClone(cur) as Obj;
    next.spec.nodeName = node;
    next.status ??= {};
    const conditions: Obj[] = (next.status.conditions ?? []).filter((c: Obj) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: formatTime(now) });
    next.status.conditions = conditions;
    return next as KubeObject;
  }, { validate: false });
}
