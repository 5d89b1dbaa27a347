import { describe, expect, it } from 'vitest';
import type { Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { mountServiceAccountToken, SA_MOUNT_PATH } from './service-account-admission.js';

const pod = (spec: Partial<PodSpec>): Pod & { spec: PodSpec } => ({ metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [], ...spec } });

describe('ServiceAccount admission', () => {
  it('adds the kube-api-access projected volume and mounts it in every container', () => {
    const p = pod({ initContainers: [{ name: 'i' }], containers: [{ name: 'a' }, { name: 'b', volumeMounts: [{ name: 'x', mountPath: '/x' }] }] });
    mountServiceAccountToken(p.spec, undefined, 'abcde');
    const spec = p.spec;
    expect(spec.volumes?.[0]?.name).toBe('kube-api-access-abcde');
    expect(spec.volumes?.[0]?.projected?.sources?.map((s) => Object.keys(s)[0])).toEqual(['serviceAccountToken', 'configMap', 'downwardAPI']);
    for (const c of [...(spec.initContainers ?? []), ...spec.containers])
      expect(c.volumeMounts?.at(-1)).toEqual({ name: 'kube-api-access-abcde', readOnly: true, mountPath: SA_MOUNT_PATH });
  });
  it('respects automountServiceAccountToken (pod first, then the service account) and existing mounts', () => {
    const cases: [Partial<PodSpec>, boolean | undefined][] = [
      [{ automountServiceAccountToken: false, containers: [{ name: 'a' }] }, undefined],
      [{ containers: [{ name: 'a' }] }, false],
      [{ containers: [{ name: 'a', volumeMounts: [{ name: 'own', mountPath: SA_MOUNT_PATH }] }] }, undefined],
    ];
    for (const [spec, sa] of cases) {
      const p = pod(spec);
      mountServiceAccountToken(p.spec, sa, 'x');
      expect(p.spec.volumes).toBeUndefined();
    }
    const p = pod({ automountServiceAccountToken: true, containers: [{ name: 'a' }] });
    mountServiceAccountToken(p.spec, false, 'x');
    expect(p.spec.volumes).toHaveLength(1);
  });
});
