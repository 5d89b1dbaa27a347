/**
 * A container's environment as the kubelet builds it: the Service variables
 * first, then envFrom (configMaps and secrets, with their prefix), then env
 * (literal values with `$(VAR)` expansion over what came before, fieldRef,
 * resourceFieldRef, secretKeyRef, configMapKeyRef). A missing object or key
 * that is not optional is a CreateContainerConfigError, as in Kubernetes.
 */
import type { Container as ContainerSpec, Pod } from 'kubernetes-types/core/v1.js';
import { expand } from './pod-env.js';
import { fieldPathValue, resourceFieldValue, type VolumeSources } from './volumes.js';

export class ContainerConfigError extends Error {}

/**
 * The environment the container runtime starts the program with: its own
 * HOSTNAME (the pod's hostname, as containerd and Docker set it) and the
 * image's ENV under the kubelet's variables, which win. It is not part of
 * what `$(VAR)` expands: the kubelet does not know it.
 */
export function runtimeEnv(hostname: string, env: Record<string, string>, imageEnv: Record<string, string> = {}): Record<string, string> {
  return { HOSTNAME: hostname, ...imageEnv, ...env };
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export async function containerEnv(
  pod: Pod,
  c: ContainerSpec,
  base: Record<string, string>,
  o: { sources: Pick<VolumeSources, 'secret' | 'configMap'>; podIP: string; node?: { cpu: number; memory: number } },
): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace ?? '';
  const env: Record<string, string> = { ...base };
  // A secret's values are base64; a configMap's are text.
  const read = async (kind: 'secret' | 'configmap', name: string): Promise<Record<string, string> | undefined> => {
    if (kind === 'configmap') {
      const cm = await o.sources.configMap(ns, name);
      return cm && { ...cm.data };
    }
    const secret = await o.sources.secret(ns, name);
    return secret && Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  };
  const fetch = async (kind: 'secret' | 'configmap', name: string | undefined, optional: boolean): Promise<Record<string, string> | undefined> => {
    const data = await read(kind, name ?? '');
    if (!data) {
      if (optional) return undefined;
      throw new ContainerConfigError(`${kind} "${name ?? ''}" not found`);
    }
    return data;
  };
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const data = await fetch(from.secretRef ? 'secret' : 'configmap', ref.name, !!ref.optional);
    for (const [k, v] of Object.entries(data ?? {})) if (ENV_NAME.test(`${from.prefix ?? ''}${k}`)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) env[e.name] = expand(String(e.value ?? ''), env);
    else if (vf.fieldRef) env[e.name] = fieldPathValue(pod, vf.fieldRef.fieldPath, o.podIP);
    else if (vf.resourceFieldRef) env[e.name] = resourceFieldValue(pod, vf.resourceFieldRef, c.name, o.node);
    else {
      const ref = vf.secretKeyRef ?? vf.configMapKeyRef;
      if (!ref) continue;
      const kind = vf.secretKeyRef ? 'secret' : 'configmap';
      const data = await fetch(kind, ref.name, !!ref.optional);
      if (data && data[ref.key] === undefined && !ref.optional)
        throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`);
      if (data?.[ref.key] !== undefined) env[e.name] = data[ref.key]!;
    }
  }
  return env;
}
