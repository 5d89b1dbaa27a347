/**
 * Where Pod Security admission meets a request: a pod created in a namespace
 * is held to the namespace's enforce level (refused) and warn level (a
 * warning); a workload's pod template only to the warn level; a namespace
 * whose enforce label tightens gets a warning naming the pods that already
 * break it, as kube-apiserver's PodSecurity plugin answers.
 */
import { forbidden, type KubeObject, type ResourceInfo } from '@kemu/api';
import type { PodSpec } from 'kubernetes-types/core/v1.js';
import { LEVELS, namespacePolicy, policyText, violations, type Level } from './pod-security.js';

/** The kinds whose pod template is checked, and where the template is. */
const TEMPLATES: Record<string, (o: KubeObject) => PodSpec | undefined> = {
  deployments: (o) => (o as { spec?: { template?: { spec?: PodSpec } } }).spec?.template?.spec,
  replicasets: (o) => (o as { spec?: { template?: { spec?: PodSpec } } }).spec?.template?.spec,
  daemonsets: (o) => (o as { spec?: { template?: { spec?: PodSpec } } }).spec?.template?.spec,
  statefulsets: (o) => (o as { spec?: { template?: { spec?: PodSpec } } }).spec?.template?.spec,
  replicationcontrollers: (o) => (o as { spec?: { template?: { spec?: PodSpec } } }).spec?.template?.spec,
  jobs: (o) => (o as { spec?: { template?: { spec?: PodSpec } } }).spec?.template?.spec,
  cronjobs: (o) => (o as { spec?: { jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } }).spec?.jobTemplate?.spec?.template?.spec,
};

/** Refuses a pod its namespace's enforce level forbids; returns the warnings to send. */
export function admitPodSecurity(info: ResourceInfo, obj: KubeObject, namespaceLabels: Record<string, string> | undefined): string[] {
  const policy = namespacePolicy(namespaceLabels);
  if (info.storage === 'pods') {
    const spec = (obj as { spec?: PodSpec }).spec;
    const enforced = violations(policy.enforce, spec);
    if (enforced.length) throw forbidden('pods', '', obj.metadata.name ?? '', `violates ${policyText(policy.enforce, enforced)}`);
    const warned = violations(policy.warn, spec);
    return warned.length ? [`would violate ${policyText(policy.warn, warned)}`] : [];
  }
  const template = TEMPLATES[info.storage];
  if (!template) return [];
  const warned = violations(policy.warn, template(obj));
  return warned.length ? [`would violate ${policyText(policy.warn, warned)}`] : [];
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
  const bad = pods.map((p) => ({ name: p.metadata.name ?? '', vs: violations(level, (p as { spec?: PodSpec }).spec) })).filter((p) => p.vs.length);
  if (!bad.length) return [];
  return [
    `existing pods in namespace "${name}" violate the new PodSecurity enforce level "${level}:latest"`,
    ...bad.map((p) => `${p.name}: ${p.vs.map((v) => v.replace(/ \(.*$/, '')).join(', ')}`),
  ];
}
