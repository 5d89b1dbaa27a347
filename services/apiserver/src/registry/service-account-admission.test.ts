import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@kemu/api';
import { mountServiceAccountToken, SA_MOUNT_PATH } from './service-account-admission.js';

const pod = (spec: Record<string, unknown>) => ({ metadata: { name: 'p', namespace: 'ns' }, spec }) as unknown as KubeObject;

describe('ServiceAccount admission', () => {
  it('adds the kube-api-access projected volume and mounts it in every container', () => {
    const p = pod({ initContainers: [{ name: 'i' }], containers: [{ name: 'a' }, { name: 'b', volumeMounts: [{ name: 'x', mountPath: '/x' }] }] });
    mountServiceAccountToken(p, undefined, 'abcde');
    const spec = p.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(spec.volumes[0].name).toBe('kube-api-access-abcde');
    expect(spec.volumes[0].projected.sources.map((s: object) => Object.keys(s)[0])).toEqual(['serviceAccountToken', 'configMap', 'downwardAPI']);
    for (const c of [...spec.initContainers, ...spec.containers]) expect(c.volumeMounts.at(-1)).toEqual({ name: 'kube-api-access-abcde', readOnly: true, mountPath: SA_MOUNT_PATH });
  });
  it('respects automountServiceAccountToken (pod first, then the service account) and existing mounts', () => {
    for (const [spec, sa] of [[{ automountServiceAccountToken: false, containers: [{ name: 'a' }] }, undefined], [{ containers: [{ name: 'a' }] }, false], [{ containers: [{ name: 'a', volumeMounts: [{ name: 'own', mountPath: SA_MOUNT_PATH }] }] }, undefined]] as const) {
      const p = pod({ ...spec });
      mountServiceAccountToken(p, sa, 'x');
      expect((p.spec as Record<string, unknown>).volumes).toBeUndefined();
    }
    const p = pod({ automountServiceAccountToken: true, containers: [{ name: 'a' }] });
    mountServiceAccountToken(p, false, 'x');
    expect((p.spec as Record<string, unknown[]>).volumes).toHaveLength(1);
  });
});
