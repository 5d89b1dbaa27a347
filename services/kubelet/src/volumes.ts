/**
 * A pod's volumes on the node: emptyDir, hostPath, secret, configMap,
 * downwardAPI and projected (secrets, configMaps, downward API and a
 * service account token from the TokenRequest API). Which files a volume
 * holds is decided by pure functions from the pod and the objects it names;
 * writing them under the pod's directory is the I/O edge. The runtime then
 * bind-mounts each volume at its containers' mountPaths.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { milliValue } from '@kemu/api';
import type {
  ConfigMap,
  Container as ContainerSpec,
  KeyToPath,
  Pod,
  ResourceFieldSelector,
  Secret,
  Volume,
  VolumeProjection,
} from 'kubernetes-types/core/v1.js';
import type { Mount } from './runtime/container.js';

export interface VolumeFile {
  path: string;
  data: Buffer;
  mode: number;
}

/** Why a volume cannot be set up (FailedMount, as the kubelet reports it). */
export class VolumeError extends Error {}

/** Reads what volumes name; undefined when absent. */
export interface VolumeSources {
  secret(ns: string, name: string): Promise<Secret | undefined>;
  configMap(ns: string, name: string): Promise<ConfigMap | undefined>;
  token(ns: string, sa: string, req: { audience?: string; expirationSeconds?: number; pod: Pod }): Promise<string>;
}

/** A fieldRef path's value, as env and downwardAPI read it. */
export function fieldPathValue(pod: Pod, path: string, podIP = ''): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return pod.metadata?.[m[1] as 'labels' | 'annotations']?.[m[2]] ?? '';
  const kv = (o: Record<string, string> | undefined) =>
    Object.keys(o ?? {})
      .sort()
      .map((k) => `${k}="${o![k]}"`)
      .join('\n');
  switch (path) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return kv(pod.metadata?.labels);
    case 'metadata.annotations':
      return kv(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return podIP;
    case 'status.podIPs':
      return podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return pod.status?.hostIP ?? '';
    default:
      return '';
  }
}

/** resourceFieldRef: a container's request or limit in the divisor's unit (rounded up, as Kubernetes does). */
export function resourceFieldValue(pod: Pod, ref: ResourceFieldSelector, defaultContainer?: string, node?: { cpu: number; memory: number }): string {
  const c = (pod.spec?.containers ?? []).find((x) => x.name === (ref.containerName || defaultContainer));
  const [kind, res] = ref.resource.split('.') as ['limits' | 'requests', string];
  let q = c?.resources?.[kind]?.[res];
  if (q === undefined && kind === 'limits') q = res === 'cpu' ? String(node?.cpu ?? 1) : String(node?.memory ?? 0); // no limit: the node's allocatable
  if (q === undefined) q = '0';
  // Exact milli-units, as Kubernetes' ExtractContainerResourceValue: ceil(value / divisor).
  const divisor = milliValue(ref.divisor ?? '1') || 1000n;
  const v = milliValue(q) ?? 0n;
  return String((v + divisor - 1n) / divisor);
}

function keyFiles(data: Record<string, Buffer>, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean, what: string): VolumeFile[] {
  if (!items?.length) return Object.entries(data).map(([k, v]) => ({ path: k, data: v, mode: defaultMode }));
  const out: VolumeFile[] = [];
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeError(`configmap references non-existent config key: ${it.key}`.replace('configmap', what));
    }
    out.push({ path: it.path, data: v, mode: it.mode ?? defaultMode });
  }
  return out;
}

const secretData = (s: Secret): Record<string, Buffer> => Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
const configMapData = (c: ConfigMap): Record<string, Buffer> => ({
  ...Object.fromEntries(Object.entries(c.data ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
  ...Object.fromEntries(Object.entries(c.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
});

/** The files of one source; `defaultMode` is the volume's (a projection has none of its own). */
async function sourceFiles(pod: Pod, src: VolumeProjection, defaultMode: number, s: VolumeSources, podIP: string): Promise<VolumeFile[]> {
  const ns = pod.metadata?.namespace ?? '';
  // A secret and a configMap source differ only in how the object is read and what its data is.
  const keyed = src.secret
    ? { spec: src.secret, what: 'secret', read: (name: string) => s.secret(ns, name).then((o) => o && secretData(o)) }
    : src.configMap
      ? { spec: src.configMap, what: 'configmap', read: (name: string) => s.configMap(ns, name).then((o) => o && configMapData(o)) }
      : undefined;
  if (keyed) {
    const name = keyed.spec.name ?? '';
    const data = await keyed.read(name);
    if (!data) {
      if (keyed.spec.optional) return [];
      throw new VolumeError(`${keyed.what} "${name}" not found`);
    }
    return keyFiles(data, keyed.spec.items, defaultMode, !!keyed.spec.optional, keyed.what);
  }
  if (src.downwardAPI) {
    return (src.downwardAPI.items ?? []).map((it) => ({
      path: it.path,
      data: Buffer.from(
        it.fieldRef ? fieldPathValue(pod, it.fieldRef.fieldPath, podIP) : it.resourceFieldRef ? resourceFieldValue(pod, it.resourceFieldRef) : '',
      ),
      mode: it.mode ?? defaultMode,
    }));
  }
  if (src.serviceAccountToken) {
    const t = src.serviceAccountToken;
    const token = await s.token(ns, pod.spec?.serviceAccountName ?? 'default', { audience: t.audience, expirationSeconds: t.expirationSeconds, pod });
    return [{ path: t.path, data: Buffer.from(token), mode: defaultMode }];
  }
  return [];
}

/** The files of a secret/configMap/downwardAPI/projected volume. */
export async function volumeFiles(pod: Pod, vol: Volume, s: VolumeSources, podIP: string): Promise<VolumeFile[]> {
  const mode = 0o644;
  if (vol.projected) {
    const projectedMode = vol.projected.defaultMode ?? mode;
    // The sources are fetched together (a token request and a ConfigMap for every kube-api-access volume).
    const parts = await Promise.all((vol.projected.sources ?? []).map((src) => sourceFiles(pod, src, projectedMode, s, podIP)));
    return parts.flat();
  }
  // A secret volume names its object `secretName`; as a projection, `name`.
  if (vol.secret)
    return sourceFiles(
      pod,
      { secret: { name: vol.secret.secretName, items: vol.secret.items, optional: vol.secret.optional } },
      vol.secret.defaultMode ?? mode,
      s,
      podIP,
    );
  if (vol.configMap) return sourceFiles(pod, { configMap: vol.configMap }, vol.configMap.defaultMode ?? mode, s, podIP);
  if (vol.downwardAPI) return sourceFiles(pod, { downwardAPI: vol.downwardAPI }, vol.downwardAPI.defaultMode ?? mode, s, podIP);
  return [];
}

/**
 * Make every volume of the pod under `dir` (volumes/<name>) and return
 * where each one is on the node. hostPath volumes are the node's own paths.
 */
export async function setUpVolumes(pod: Pod, dir: string, s: VolumeSources, podIP: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const vol of pod.spec?.volumes ?? []) {
    if (vol.hostPath) {
      const p = vol.hostPath.path;
      const type = vol.hostPath.type ?? '';
      if (type === 'DirectoryOrCreate' && !existsSync(p)) mkdirSync(p, { recursive: true, mode: 0o755 });
      else if (type === 'FileOrCreate' && !existsSync(p)) {
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, '', { mode: 0o644 });
      } else if (type && type !== 'DirectoryOrCreate' && type !== 'FileOrCreate' && !existsSync(p))
        throw new VolumeError(`hostPath type check failed: ${p} is not a ${type}`);
      out.set(vol.name, p);
      continue;
    }
    const vdir = join(dir, 'volumes', vol.name);
    if (vol.emptyDir || (!vol.secret && !vol.configMap && !vol.downwardAPI && !vol.projected)) {
      mkdirSync(vdir, { recursive: true, mode: 0o777 });
      chmodSync(vdir, 0o777);
      out.set(vol.name, vdir);
      continue;
    }
    const files = await volumeFiles(pod, vol, s, podIP);
    rmSync(vdir, { recursive: true, force: true });
    mkdirSync(vdir, { recursive: true });
    for (const f of files) {
      const p = join(vdir, f.path);
      if (!p.startsWith(vdir + '/')) throw new VolumeError(`invalid path ${f.path}`);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.data);
      chmodSync(p, f.mode);
    }
    out.set(vol.name, vdir);
  }
  return out;
}

/** The bind mounts of one container: its volumeMounts (subPath included) on the volumes' node paths. */
export function containerMounts(c: ContainerSpec, volumes: Map<string, string>): Mount[] {
  return (c.volumeMounts ?? [])
    .filter((m) => volumes.has(m.name))
    .map((m) => ({ source: m.subPath ? join(volumes.get(m.name)!, m.subPath) : volumes.get(m.name)!, target: m.mountPath, readOnly: !!m.readOnly }));
}
