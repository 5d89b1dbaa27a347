/**
 * NodeRestriction admission (kube-apiserver's plugin of that name): a
 * kubelet's credential writes only what is its own — its Node (without
 * changing its taints or the node-restriction.kubernetes.io/ labels), its
 * Lease in kube-node-lease, the status of pods bound to it, mirror pods of
 * its static pods, and tokens bound to its pods. The Node authorizer
 * decides what it may do at all; this decides on which objects. Pure: the
 * caller gives the operation, the objects and the pod a token is bound to.
 */
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { TokenRequest } from 'kubernetes-types/authentication/v1.js';
import type { KubeObject } from '@kemu/api';
import { jsonEqual } from '@kemu/api';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

const MIRROR = 'kubernetes.io/config.mirror';
const RESTRICTED_LABEL = /^(?:[^/]*\.)?node-restriction\.kubernetes\.io\//;

/** Why the write is refused (NodeRestriction's message), or undefined when the node may make it. */
export function nodeRestriction(
  node: string,
  op: Operation,
  storage: string,
  subresource: string | undefined,
  obj: KubeObject | undefined,
  old?: KubeObject,
): string | undefined {
  switch (storage) {
    case 'pods':
      return pods(node, op, subresource, (obj ?? old) as Pod, old as Pod | undefined);
    case 'nodes':
      return nodes(node, op, obj as Node | undefined, old as Node | undefined);
    case 'leases': {
      const l = (obj ?? old) as Lease;
      if (l.metadata?.namespace !== 'kube-node-lease') return `can only access leases in the "kube-node-lease" system namespace`;
      if (l.metadata?.name !== node) return `can only access node lease with the same name as the requesting node`;
      return undefined;
    }
    default:
      return undefined;
  }
}

function pods(node: string, op: Operation, subresource: string | undefined, pod: Pod, old: Pod | undefined): string | undefined {
  const boundHere = (old ?? pod).spec?.nodeName === node;
  if (subresource === 'status') {
    return boundHere ? undefined : `node "${node}" can only update pod status for pods with spec.nodeName set to itself`;
  }
  if (op === 'CREATE') {
    if (!pod.metadata?.annotations?.[MIRROR]) return `pod does not have "${MIRROR}" annotation, node "${node}" can only create mirror pods`;
    if (pod.spec?.nodeName !== node) return `node "${node}" can only create pods with spec.nodeName set to itself`;
    const refs = mirrorPodReferences(pod);
    return refs ? `node "${node}" can not create pods that reference ${refs}` : undefined;
  }
  if (op === 'DELETE') return boundHere ? undefined : `node "${node}" can only delete pods with spec.nodeName set to itself`;
  return `unexpected operation "${op}", node "${node}" can only create and delete mirror pods`;
}

/** What a mirror pod may not refer to (the api objects a static pod cannot have). */
function mirrorPodReferences(pod: Pod): string | undefined {
  const spec = pod.spec;
  if (spec?.serviceAccountName) return 'serviceaccounts';
  for (const v of spec?.volumes ?? []) {
    if (v.secret) return 'secrets';
    if (v.configMap) return 'configmaps';
    if (v.persistentVolumeClaim) return 'persistentvolumeclaims';
  }
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const e of c.envFrom ?? []) {
      if (e.secretRef) return 'secrets';
      if (e.configMapRef) return 'configmaps';
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) return 'secrets';
      if (e.valueFrom?.configMapKeyRef) return 'configmaps';
    }
  }
  return undefined;
}

function nodes(node: string, op: Operation, obj: Node | undefined, old: Node | undefined): string | undefined {
  const name = (obj ?? old)?.metadata?.name ?? '';
  if (name !== node) return `node "${node}" is not allowed to modify node "${name}"`;
  if (op === 'DELETE') return undefined;
  const labels = obj?.metadata?.labels ?? {};
  const oldLabels = old?.metadata?.labels ?? {};
  const changed = [...new Set([...Object.keys(labels), ...Object.keys(oldLabels)])].filter((k) => RESTRICTED_LABEL.test(k) && labels[k] !== oldLabels[k]);
  if (changed.length) return `node "${node}" is not allowed to modify labels: ${changed.sort().join(', ')}`;
  if (op === 'UPDATE' && !jsonEqual(obj?.spec?.taints ?? [], old?.spec?.taints ?? [])) return `node "${node}" is not allowed to modify taints`;
  return undefined;
}

/** A node asks a token only bound to a pod of its own (NodeRestriction's admitServiceAccount... token check). */
export function nodeTokenRequestRefusal(node: string, tr: TokenRequest, boundPod: Pod | undefined): string | undefined {
  const ref = tr.spec?.boundObjectRef;
  if (!ref) return `node requested token not bound to a pod`;
  if (ref.kind !== 'Pod') return `node requested token bound to a ${ref.kind ?? 'object'}, not a pod`;
  if (!ref.uid) return `node requested token with a pod binding without a uid`;
  if (!boundPod || (ref.uid && ref.uid !== boundPod.metadata?.uid)) return `node requested token bound to a pod that does not exist or has another uid`;
  if (boundPod.spec?.nodeName !== node) return `node requested token bound to a pod scheduled on a different node`;
  return undefined;
}
