/**
 * Pod Security admission with the real kubectl: a namespace labelled
 * `pod-security.kubernetes.io/enforce` refuses the pods its level forbids,
 * `warn` lets them in with kubectl's "Warning: would violate PodSecurity",
 * workloads are warned about, tightening a namespace names the pods
 * already in it that break the new level, and `audit` lets a violating pod in
 * silently but says what it violates in the request's audit event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k, kubectl, namespace, waitFor } from './helpers.js';
import { auditEvents } from './audit.js';

let ns: string;
const HARDENED = JSON.stringify({
  spec: {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        image: 'busybox',
        command: ['sleep', '3600'],
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  },
});

beforeAll(async () => {
  ns = await namespace('psa');
});

afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('Pod Security admission', () => {
  it('warn: the pod goes in, kubectl prints what it would violate', async () => {
    await k(['label', 'namespace', ns, 'pod-security.kubernetes.io/warn=restricted']);
    const r = await kubectl(['run', 'loose', '--image=busybox', '-n', ns, '--', 'sleep', '3600']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "loose" must set');
    expect(r.stderr).toContain('runAsNonRoot != true (pod or container "loose" must set securityContext.runAsNonRoot=true)');
  });

  it('tightening enforce names the pods already there that break it', async () => {
    const r = await kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`Warning: existing pods in namespace "${ns}" violate the new PodSecurity enforce level "restricted:latest"`);
    expect(r.stderr).toContain('Warning: loose: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile');
  });

  it('enforce: a violating pod is refused, a hardened one admitted; a Deployment is only warned about', async () => {
    const refused = await kubectl(['run', 'root', '--image=busybox', '-n', ns, '--', 'sleep', '3600']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `Error from server (Forbidden): pods "root" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`,
    );
    expect((await kubectl(['run', 'hardened', '--image=busybox', '-n', ns, `--overrides=${HARDENED}`])).exitCode).toBe(0);
    const deploy = await kubectl(['create', 'deployment', 'web', '--image=nginx', '-n', ns]);
    expect(deploy.exitCode).toBe(0);
    expect(deploy.stderr).toContain('Warning: would violate PodSecurity "restricted:latest"');
    const bad = await kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/audit=strict', '--overwrite']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "strict": must be one of privileged, baseline, restricted');
  });

  it("baseline: an AppArmor profile annotation of unconfined is refused with kube-apiserver's words", async () => {
    const base = await namespace('psa-baseline');
    try {
      await k(['label', 'namespace', base, 'pod-security.kubernetes.io/enforce=baseline']);
      const r = await kubectl([
        'run',
        'aa',
        '--image=busybox',
        '-n',
        base,
        '--annotations=container.apparmor.security.beta.kubernetes.io/aa=unconfined',
        '--',
        'sleep',
        '3600',
      ]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(
        'Error from server (Forbidden): pods "aa" is forbidden: violates PodSecurity "baseline:latest": forbidden AppArmor profile ' +
          '(annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/aa="unconfined"")',
      );
    } finally {
      await kubectl(['delete', 'namespace', base, '--wait=false']);
    }
  });

  it('audit: a violating pod goes in without a warning; the audit log says what it violates', { timeout: 120_000 }, async () => {
    const audited = await namespace('psa-audit');
    try {
      await k(['label', 'namespace', audited, 'pod-security.kubernetes.io/audit=restricted']);
      const r = await kubectl(['run', 'c', '--image=busybox', '-n', audited, '--', 'sleep', '3600']);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).not.toContain('Warning');
      const created = await waitFor('the pod creation in the audit log', () =>
        auditEvents().find(
          (e) => e.verb === 'create' && e.objectRef?.resource === 'pods' && e.objectRef.namespace === audited && e.stage === 'ResponseComplete',
        ),
      );
      expect(created.responseStatus?.code).toBe(201);
      expect(created.annotations).toMatchObject({
        'pod-security.kubernetes.io/enforce-policy': 'privileged:latest',
        'pod-security.kubernetes.io/audit-violations':
          'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
          'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
          'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
          'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
      });
    } finally {
      await kubectl(['delete', 'namespace', audited, '--wait=false']);
    }
  });
});
