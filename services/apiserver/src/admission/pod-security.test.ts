import { describe, expect, it } from 'vitest';
import type { PodSpec } from 'kubernetes-types/core/v1.js';
import { lookupResource } from '@kemu/api';
import { invalidPolicyLabels, namespacePolicy, violations } from './pod-security.js';
import { admitPodSecurity, namespaceChangeWarnings } from './pod-security-admission.js';

const nginx: PodSpec = { containers: [{ name: 'nginx', image: 'nginx' }] };
const hardened: PodSpec = {
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [{ name: 'app', image: 'x', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }],
};

describe('Pod Security Standards', () => {
  it('a plain pod meets baseline but not restricted, with the words of Kubernetes', () => {
    expect(violations('baseline', nginx)).toEqual([]);
    expect(violations('restricted', nginx)).toEqual([
      'allowPrivilegeEscalation != false (container "nginx" must set securityContext.allowPrivilegeEscalation=false)',
      'unrestricted capabilities (container "nginx" must set securityContext.capabilities.drop=["ALL"])',
      'runAsNonRoot != true (pod or container "nginx" must set securityContext.runAsNonRoot=true)',
      'seccompProfile (pod or container "nginx" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    ]);
    expect(violations('restricted', hardened)).toEqual([]);
  });

  it('baseline refuses host namespaces, privileged containers, added capabilities, hostPath and hostPort', () => {
    const spec: PodSpec = {
      hostNetwork: true,
      volumes: [{ name: 'root', hostPath: { path: '/' } }],
      containers: [
        {
          name: 'c',
          image: 'x',
          ports: [{ containerPort: 80, hostPort: 80 }],
          securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN', 'CHOWN'] } },
        },
      ],
    };
    // Kubernetes lists them by check ID: capabilities_baseline, hostNamespaces, hostPathVolumes, hostPorts, privileged.
    expect(violations('baseline', spec)).toEqual([
      'non-default capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add)',
      'host namespaces (hostNetwork=true)',
      'hostPath volumes (volume "root")',
      'hostPort (container "c" uses hostPort 80)',
      'privileged (container "c" must not set securityContext.privileged=true)',
    ]);
  });

  it('namespace labels pick the levels; unset is privileged; a bad value is invalid', () => {
    expect(namespacePolicy({ 'pod-security.kubernetes.io/enforce': 'baseline' })).toEqual({ enforce: 'baseline', warn: 'privileged', audit: 'privileged' });
    expect(invalidPolicyLabels({ 'pod-security.kubernetes.io/enforce': 'strict', 'pod-security.kubernetes.io/warn-version': 'latest' })).toEqual([
      'pod-security.kubernetes.io/enforce',
    ]);
  });

  it('enforce refuses a pod, warn warns, audit annotates; a workload template is only warned about and audited', () => {
    const pods = lookupResource('', 'v1', 'pods')!;
    const deployments = lookupResource('apps', 'v1', 'deployments')!;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'x' }, spec: nginx };
    const refused = admitPodSecurity(pods, pod, { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' });
    expect(refused.refusal).toMatch(/^violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
    expect(refused.warnings).toEqual([]);
    expect(refused.auditAnnotations).toEqual({ 'pod-security.kubernetes.io/enforce-policy': 'restricted:latest' });
    const warned = admitPodSecurity(pods, pod, { 'pod-security.kubernetes.io/warn': 'restricted' });
    expect(warned.refusal).toBeUndefined();
    expect(warned.warnings[0]).toMatch(/^would violate PodSecurity "restricted:latest": /);
    const deploy = { metadata: { name: 'web', namespace: 'x' }, spec: { template: { spec: nginx } } };
    const tightened = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' };
    expect(admitPodSecurity(deployments, deploy, tightened).warnings).toHaveLength(1);
    expect(admitPodSecurity(deployments, deploy, tightened).auditAnnotations).toEqual({});
    // The AppArmor annotations are read from the pod's metadata, and from a template's.
    const unconfined = { 'container.apparmor.security.beta.kubernetes.io/nginx': 'unconfined' };
    const baselineNs = { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'baseline' };
    expect(admitPodSecurity(pods, { ...pod, metadata: { ...pod.metadata, annotations: unconfined } }, baselineNs).refusal).toBe(
      'violates PodSecurity "baseline:latest": forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/nginx="unconfined"")',
    );
    const annotatedDeploy = { ...deploy, spec: { template: { metadata: { annotations: unconfined }, spec: nginx } } };
    expect(admitPodSecurity(deployments, annotatedDeploy, baselineNs).warnings[0]).toMatch(
      /^would violate PodSecurity "baseline:latest": forbidden AppArmor profile \(/,
    );
    expect(namespaceChangeWarnings('x', { 'pod-security.kubernetes.io/enforce': 'restricted' }, {}, [pod])).toEqual([
      'existing pods in namespace "x" violate the new PodSecurity enforce level "restricted:latest"',
      'web: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
    ]);
  });

  it('a changed enforce level groups existing pods by their reasons, named by the least name, as kube-apiserver does', () => {
    const pod = (name: string, spec: PodSpec, owner?: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'x',
        ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: owner, controller: true }] } : {}),
      },
      spec,
    });
    const hostNet: PodSpec = { ...nginx, hostNetwork: true };
    const pods = [pod('web-b', nginx, 'rs'), pod('web-a', nginx, 'rs'), pod('web-c', nginx, 'rs'), pod('agent', hostNet), pod('ok', hardened)];
    expect(namespaceChangeWarnings('x', { 'pod-security.kubernetes.io/enforce': 'restricted' }, {}, pods)).toEqual([
      'existing pods in namespace "x" violate the new PodSecurity enforce level "restricted:latest"',
      'web-a (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
      'agent: host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
    ]);
    // Loosening to baseline still names the pods that break baseline; to privileged, or unchanged, nothing.
    const restricted = { 'pod-security.kubernetes.io/enforce': 'restricted' };
    expect(namespaceChangeWarnings('x', { 'pod-security.kubernetes.io/enforce': 'baseline' }, restricted, pods)).toEqual([
      'existing pods in namespace "x" violate the new PodSecurity enforce level "baseline:latest"',
      'agent: host namespaces',
    ]);
    expect(namespaceChangeWarnings('x', { 'pod-security.kubernetes.io/enforce': 'privileged' }, restricted, pods)).toEqual([]);
    expect(namespaceChangeWarnings('x', restricted, restricted, pods)).toEqual([]);
  });

  it('audit admits the pod without a warning and puts the warning text in the audit-violations annotation', () => {
    const pods = lookupResource('', 'v1', 'pods')!;
    const daemonsets = lookupResource('apps', 'v1', 'daemonsets')!;
    const spec: PodSpec = { containers: [{ name: 'c', image: 'x' }] };
    const audit = { 'pod-security.kubernetes.io/audit': 'restricted' };
    const text =
      'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';
    expect(admitPodSecurity(pods, { metadata: { name: 'p', namespace: 'x' }, spec }, audit)).toEqual({
      warnings: [],
      auditAnnotations: { 'pod-security.kubernetes.io/enforce-policy': 'privileged:latest', 'pod-security.kubernetes.io/audit-violations': text },
    });
    // The same words as warn's, so a namespace can be audited before it is warned or enforced.
    expect(admitPodSecurity(pods, { metadata: { name: 'p', namespace: 'x' }, spec }, { 'pod-security.kubernetes.io/warn': 'restricted' }).warnings).toEqual([
      text,
    ]);
    // A workload's template is audited but no enforce policy is named: it is not enforced.
    const ds = { metadata: { name: 'd', namespace: 'x' }, spec: { template: { spec } } };
    expect(admitPodSecurity(daemonsets, ds, audit)).toEqual({ warnings: [], auditAnnotations: { 'pod-security.kubernetes.io/audit-violations': text } });
    // A pod meeting the audit level, and a kind with no pod template, carry no violation.
    expect(admitPodSecurity(pods, { metadata: { name: 'h', namespace: 'x' }, spec: hardened }, audit).auditAnnotations).toEqual({
      'pod-security.kubernetes.io/enforce-policy': 'privileged:latest',
    });
    expect(admitPodSecurity(lookupResource('', 'v1', 'configmaps')!, { metadata: { name: 'c', namespace: 'x' } }, audit)).toEqual({
      warnings: [],
      auditAnnotations: {},
    });
  });
});
