/**
 * PATCH: JSON patch, JSON merge patch, strategic merge patch and
 * server-side apply, applied to the object in the version the client asked
 * for, then written like an update (retried on conflict unless the patch
 * itself names a resourceVersion).
 */
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  badRequest,
  conflict,
  fromStorage,
  isNotFound,
  MODIFIED_CONFLICT,
  StatusError,
  toStorage,
  unsupportedMediaType,
  type KubeObject,
  type ResourceInfo,
} from '@kemu/api';
import type { RestStore } from './rest.js';
import { parseJsonBody } from '../encoding/json.js';
import { parseYamlBody } from '../encoding/yaml.js';

/** The most operations one JSON patch may hold (kube-apiserver's maxJSONPatchOperations). */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

export function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if ((PATCH_TYPES as readonly string[]).includes(ct)) return ct as PatchType;
  throw unsupportedMediaType(ct);
}

/**
 * Parse a patch body: JSON for all types; YAML also for server-side apply. A
 * JSON patch of more than 10,000 operations is refused with kube-apiserver's
 * 413, so one request cannot make the server apply millions of them.
 */
export function parsePatch(type: PatchType, raw: string): unknown {
  if (type === 'application/apply-patch+yaml') {
    try {
      return parseJsonBody(raw);
    } catch {
      return parseYamlBody(raw);
    }
  }
  const patch = parseJsonBody(raw);
  if (type === 'application/json-patch+json' && Array.isArray(patch) && patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new StatusError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`,
    );
  }
  return patch;
}

/** Apply one patch document to a served-version object. Pure. */
export function applyPatch(type: PatchType, current: KubeObject, patch: unknown): KubeObject {
  switch (type) {
    case 'application/json-patch+json':
      return applyJsonPatch(current, patch) as KubeObject;
    case 'application/merge-patch+json':
      return applyMergePatch(current, patch) as KubeObject;
    case 'application/strategic-merge-patch+json':
    case 'application/apply-patch+yaml':
      return applyStrategicMergePatch(current, patch) as KubeObject;
  }
}

export async function patchResource(
  rest: RestStore,
  info: ResourceInfo,
  ns: string | undefined,
  name: string,
  type: PatchType,
  patch: unknown,
  subresource: string | undefined,
  opts: { dryRun?: boolean; force?: boolean } = {},
): Promise<KubeObject> {
  if (type === 'application/apply-patch+yaml' && !subresource) {
    // Server-side apply creates what does not exist yet.
    try {
      await rest.getStored(info, ns, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const obj = patch as KubeObject;
      if (!obj || typeof obj !== 'object') throw badRequest('apply patch must be an object');
      return rest.create(info, ns, { ...obj, metadata: { ...(obj.metadata ?? {}), name } }, opts);
    }
  }
  return rest.guaranteedUpdate(
    info,
    ns,
    name,
    (cur) => {
      const served = fromStorage(info, cur);
      const patched = applyPatch(type, served, patch);
      if (!patched || typeof patched !== 'object' || Array.isArray(patched)) throw badRequest('the patch must produce an object');
      const rv = patched.metadata?.resourceVersion;
      if (rv && rv !== cur.metadata.resourceVersion) throw conflict(info.resource, info.group, name, MODIFIED_CONFLICT);
      const incoming = toStorage(info, patched);
      return rest.merge(info, cur, incoming, subresource);
    },
    { dryRun: opts.dryRun, subresource },
  );
}
