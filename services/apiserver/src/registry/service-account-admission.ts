/**
 * The ServiceAccount admission plugin's mutation: a projected
 * `kube-api-access-<suffix>` volume (a bound token, the cluster CA from the
 * kube-root-ca.crt ConfigMap, the namespace) mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every container, unless
 * the pod or its service account turns automount off or a container already
 * mounts something there. Pure.
 */
import type { Container, PodSpec } from 'kubernetes-types/core/v1.js';

export const SA_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Mutates `spec`, the spec of a pod being created. */
export function mountServiceAccountToken(spec: PodSpec, saAutomount: boolean | undefined, suffix: string): void {
  const automount = spec.automountServiceAccountToken ?? saAutomount ?? true;
  if (!automount) return;
  // Validation has not run yet: containers may be missing.
  const containers: Container[] = [...(spec.initContainers ?? []), ...((spec.containers as Container[] | undefined) ?? [])];
  if (containers.some((c) => (c.volumeMounts ?? []).some((m) => m.mountPath === SA_MOUNT_PATH))) return;
  const name = `kube-api-access-${suffix}`;
  spec.volumes = [
    ...(spec.volumes ?? []),
    {
      name,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
  ];
  for (const c of containers) c.volumeMounts = [...(c.volumeMounts ?? []), { name, readOnly: true, mountPath: SA_MOUNT_PATH }];
}
