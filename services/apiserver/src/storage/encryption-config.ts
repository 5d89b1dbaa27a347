/**
 * kube-apiserver's --encryption-provider-config: an EncryptionConfiguration
 * (apiserver.config.k8s.io/v1) that names, per list of resources, the
 * providers their values are written and read with. The first provider
 * writes; every provider (and every key of each) is tried on reads, so data
 * written before encryption was turned on (identity) still reads.
 *
 *   apiVersion: apiserver.config.k8s.io/v1
 *   kind: EncryptionConfiguration
 *   resources:
 *     - resources: [secrets]
 *       providers:
 *         - aescbc: {keys: [{name: key1, secret: <base64 of 32 random bytes>}]}
 *         - identity: {}
 *
 * What kemu has: the aescbc, aesgcm and identity providers; resources by
 * name (`secrets`, `deployments.apps`) or `*.*` for all. Not here: kms,
 * secretbox, `*.<group>` wildcards, and reloading the file while running
 * (--encryption-provider-config-automatic-reload).
 */
import { parse } from 'yaml';
import { isPlainObject } from '@kemu/api';
import { aescbc, aesgcm, identity, prefixTransformers, type PrefixedTransformer, type ValueTransformer } from './value-transformer.js';

/** Which values are encrypted, and how: by their etcd key. */
export interface EncryptionTransformers {
  /** The transformer for the value stored under `key` (`/registry/<resource>/...`); undefined: stored as it is. */
  forKey(key: string): ValueTransformer | undefined;
}

/** A configuration that cannot be used: the api-server refuses to start, as kube-apiserver does. */
export class EncryptionConfigError extends Error {
  constructor(errors: string[]) {
    super(`invalid encryption configuration: ${errors.join('; ')}`);
    this.name = 'EncryptionConfigError';
  }
}

const KEY_SIZES = [16, 24, 32];

/** The providers of one entry, as prefix transformers (the first writes). */
function providers(list: unknown, path: string, errors: string[]): PrefixedTransformer[] {
  if (!Array.isArray(list) || !list.length) {
    errors.push(`${path}: Required value: provider must contain at least one provider`);
    return [];
  }
  const out: PrefixedTransformer[] = [];
  list.forEach((p: unknown, i) => {
    const at = `${path}[${i}]`;
    const kinds = isPlainObject(p) ? Object.keys(p) : [];
    if (kinds.length !== 1) {
      errors.push(
        `${at}: Invalid value: ${kinds.length ? 'more than one provider specified in a single element, should split into different list elements' : 'provider does not contain any of the expected providers: aescbc, aesgcm, identity'}`,
      );
      return;
    }
    const kind = kinds[0];
    const conf = (p as Record<string, unknown>)[kind];
    if (kind === 'identity') {
      out.push({ prefix: '', transformer: identity });
      return;
    }
    if (kind !== 'aescbc' && kind !== 'aesgcm') {
      errors.push(`${at}: Unsupported value: "${kind}": kemu supports aescbc, aesgcm and identity`);
      return;
    }
    const keys = isPlainObject(conf) ? conf.keys : undefined;
    if (!Array.isArray(keys) || !keys.length) {
      errors.push(`${at}.${kind}.keys: Required value: keys (list of at least one key) is required`);
      return;
    }
    const names = new Set<string>();
    keys.forEach((k: unknown, j) => {
      const kat = `${at}.${kind}.keys[${j}]`;
      const name = isPlainObject(k) ? k.name : undefined;
      const secret = isPlainObject(k) ? k.secret : undefined;
      if (typeof name !== 'string' || !name) return errors.push(`${kat}.name: Required value: key name is required`);
      if (name.includes(':')) return errors.push(`${kat}.name: Invalid value: "${name}": should not contain ':'`);
      if (names.has(name)) return errors.push(`${kat}.name: Duplicate value: "${name}"`);
      names.add(name);
      if (typeof secret !== 'string' || !secret) return errors.push(`${kat}.secret: Required value: secret is required`);
      const bytes = Buffer.from(secret, 'base64');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || bytes.toString('base64') !== secret)
        return errors.push(`${kat}.secret: Invalid value: "REDACTED": secrets must be base64 encoded`);
      if (!KEY_SIZES.includes(bytes.length))
        return errors.push(`${kat}.secret: Invalid value: "REDACTED": secret is not of the expected length, got ${bytes.length}, expected one of [16 24 32]`);
      out.push({ prefix: `k8s:enc:${kind}:v1:${name}:`, transformer: kind === 'aescbc' ? aescbc(bytes) : aesgcm(bytes) });
    });
  });
  return out;
}

/** The etcd key prefix of a configured resource (`secrets`, `deployments.apps`); '' for `*.*`. */
function keyPrefix(resource: string): string | undefined {
  if (resource === '*.*') return '';
  if (resource.startsWith('*')) return undefined;
  // kemu's keys are /registry/<resource>/..., the group not in them (as Kubernetes' are, but for a few renamed ones).
  return `/registry/${resource.split('.')[0]}/`;
}

/** Parse and check an EncryptionConfiguration (YAML or JSON). */
export function parseEncryptionConfig(text: string): EncryptionTransformers {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new EncryptionConfigError([(e as Error).message]);
  }
  const errors: string[] = [];
  if (!isPlainObject(doc)) throw new EncryptionConfigError(['not an EncryptionConfiguration object']);
  if (doc.kind !== 'EncryptionConfiguration') errors.push(`kind: Invalid value: "${String(doc.kind)}": must be EncryptionConfiguration`);
  if (doc.apiVersion !== 'apiserver.config.k8s.io/v1')
    errors.push(`apiVersion: Invalid value: "${String(doc.apiVersion)}": must be apiserver.config.k8s.io/v1`);
  const entries = doc.resources;
  if (!Array.isArray(entries) || !entries.length) errors.push('resources: Required value: resources is a required field');
  const rules: { prefix: string; transformer: ValueTransformer }[] = [];
  const seen = new Set<string>();
  (Array.isArray(entries) ? entries : []).forEach((e: unknown, i) => {
    const at = `resources[${i}]`;
    const resources = isPlainObject(e) ? e.resources : undefined;
    if (!Array.isArray(resources) || !resources.length) return errors.push(`${at}.resources: Required value: resources is a required field`);
    const list = providers(isPlainObject(e) ? e.providers : undefined, `${at}.providers`, errors);
    resources.forEach((r: unknown, j) => {
      const rat = `${at}.resources[${j}]`;
      if (typeof r !== 'string' || !r) return errors.push(`${rat}: Required value`);
      if (seen.has(r)) return errors.push(`${rat}: Duplicate value: "${r}"`);
      seen.add(r);
      const prefix = keyPrefix(r);
      if (prefix === undefined) return errors.push(`${rat}: Unsupported value: "${r}": kemu supports resource names and *.*`);
      if (list.length) rules.push({ prefix, transformer: prefixTransformers(list) });
    });
  });
  if (errors.length) throw new EncryptionConfigError(errors);
  return {
    // The first entry that names the resource wins, as in kube-apiserver.
    forKey: (key) => rules.find((r) => key.startsWith(r.prefix))?.transformer,
  };
}
