/**
 * Where Pod Security admission meets a request: a pod created in a namespace
 * is held to the namespace's enforce level (refused), warn level (a warning)
 * and audit level (an audit annotation); a workload's pod template only to
 * the warn and audit levels; a namespace
 * whose enforce label tightens gets a warning naming the pods that already
 * break it, as kube-apiserver's PodSecurity plugin answers.
 */
import type { KubeObject, ResourceInfo } from '@kemu/api';
import type { PodSpec } from 'kubernetes-types/core/v1.js';
import { evaluatePod, LEVELS, namespacePolicy, violations, type Level, type PodEvaluation } from './pod-security.js';

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

const stricter = (a: Level, b: Level) => LEVELS.indexOf(a) > LEVELS.indexOf(b);

/** When a namespace's enforce level tightens: a warning per existing pod that breaks it. */
export function namespaceChangeWarnings(
  name: string,
  next: Record<string, string> | undefined,
  prev: Record<string, string> | undefined,
  pods: KubeObject[],
): string[] {
  const level = namespacePolicy(next).enforce;
  if (!stricter(level, namespacePolicy(prev).enforce)) return [];
  const bad = pods
    .map((p) => ({ name: p.metadata.name ?? '', vs: violations(level, (p as { spec?: PodSpec }).spec, p.metadata.annotations ?? {}) }))
    .filter((p) => p.vs.length);
  if (!bad.length) return [];
  return [
    `existing pods in namespace "${name}" violate the new PodSecurity enforce level "${level}:latest"`,
    ...bad.map((p) => `${p.name}: ${p.vs.map((v) => v.replace(/ \(.*$/, '')).join(', ')}`),
  ];
}
