/**
 * Where Pod Security admission meets a request: a pod created in a namespace
 * is held to the namespace's enforce level (refused), warn level (a warning)
 * and audit level (an audit annotation); a workload's pod template only to
 * the warn and audit levels; a namespace
 * whose enforce label changes gets a warning naming the pods that already
 * break the new level, as kube-apiserver's PodSecurity plugin answers.
 */
import type { KubeObject, ResourceInfo } from '@kemu/api';
import type { PodSpec } from 'kubernetes-types/core/v1.js';
import { evaluatePod, namespacePolicy, violationReasons, type PodEvaluation } from './pod-security.js';

interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec?: PodSpec;
}
type WithTemplate = { spec?: { template?: PodTemplate } };

/** The kinds whose pod template is checked, and where the template is. */
const TEMPLATES: Record<string, (o: KubeObject) => PodTemplate | undefined> = {
  deployments: (o) => (o as WithTemplate).spec?.template,
  replicasets: (o) => (o as WithTemplate).spec?.template,
  daemonsets: (o) => (o as WithTemplate).spec?.template,
  statefulsets: (o) => (o as WithTemplate).spec?.template,
  replicationcontrollers: (o) => (o as WithTemplate).spec?.template,
  jobs: (o) => (o as WithTemplate).spec?.template,
  cronjobs: (o) => (o as { spec?: { jobTemplate?: WithTemplate } }).spec?.jobTemplate?.spec?.template,
};

/** What admission does with a pod or a workload's pod template; other kinds pass untouched. */
export function admitPodSecurity(info: ResourceInfo, obj: KubeObject, namespaceLabels: Record<string, string> | undefined): PodEvaluation {
  const policy = namespacePolicy(namespaceLabels);
  if (info.storage === 'pods') return evaluatePod(policy, (obj as { spec?: PodSpec }).spec, true, obj.metadata.annotations ?? {});
  const template = TEMPLATES[info.storage]?.(obj);
  return template ? evaluatePod(policy, template.spec, false, template.metadata?.annotations ?? {}) : { warnings: [], auditAnnotations: {} };
}

/**
 * Pods not owned by a controller, and the first pod of each controller,
 * before the rest: Kubernetes' prioritizePods, which decides whose name
 * stands for a group of pods with the same violations.
 */
function prioritized(pods: KubeObject[]): KubeObject[] {
  const seen = new Set<string>();
  const first: KubeObject[] = [];
  const rest: KubeObject[] = [];
  for (const p of pods) {
    const owner = p.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    if (owner === undefined || !seen.has(owner)) first.push(p);
    else rest.push(p);
    if (owner !== undefined) seen.add(owner);
  }
  return [...first, ...rest];
}

/**
 * When a namespace's enforce level changes (to anything but privileged):
 * the pods already there that break it, as Kubernetes' EvaluatePodsInNamespace
 * words it: one warning per distinct list of reasons, named by its pod of
 * the least name and `(and N other pods)`.
 */
export function namespaceChangeWarnings(
  name: string,
  next: Record<string, string> | undefined,
  prev: Record<string, string> | undefined,
  pods: KubeObject[],
): string[] {
  const level = namespacePolicy(next).enforce;
  if (level === namespacePolicy(prev).enforce || level === 'privileged') return [];
  const groups = new Map<string, { pod: string; count: number }>();
  for (const p of prioritized(pods)) {
    const reasons = violationReasons(level, (p as { spec?: PodSpec }).spec, p.metadata.annotations ?? {});
    if (!reasons.length) continue;
    const key = reasons.join(', ');
    const pod = p.metadata.name ?? '';
    const g = groups.get(key);
    if (!g) groups.set(key, { pod, count: 1 });
    else groups.set(key, { pod: pod < g.pod ? pod : g.pod, count: g.count + 1 });
  }
  if (!groups.size) return [];
  return [
    `existing pods in namespace "${name}" violate the new PodSecurity enforce level "${level}:latest"`,
    ...[...groups].map(([reasons, g]) =>
      g.count === 1 ? `${g.pod}: ${reasons}` : `${g.pod} (and ${g.count - 1} other ${g.count === 2 ? 'pod' : 'pods'}): ${reasons}`,
    ),
  ];
}
