/** Validation for the smaller kinds: config, secrets, nodes, endpoints, ingresses, quotas, ... */
import { type FieldError, required, invalid, notSupported } from '../field-errors.js';
import { isPlainObject } from '../types.js';
import { jsonText } from '../json.js';
import { milliValue, QUANTITY_MSG } from '../quantity.js';
import { dns1123Subdomain } from './names.js';

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const MAX_DATA = 1024 * 1024;

function validateDataMap(m: unknown, f: string, base64: boolean): { errs: FieldError[]; size: number } {
  const errs: FieldError[] = [];
  let size = 0;
  if (m === undefined || m === null) return { errs, size };
  if (!isPlainObject(m)) return { errs: [invalid(f, m, 'must be a map of string keys to string values')], size };
  for (const [k, v] of Object.entries(m)) {
    if (!CONFIG_KEY.test(k) || k.length > 253) errs.push(invalid(f, k, CONFIG_KEY_MSG));
    if (typeof v !== 'string') {
      errs.push(invalid(`${f}[${k}]`, v, 'must be a string'));
      continue;
    }
    if (base64) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
        errs.push(invalid(`${f}[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
      }
      size += Math.floor((v.length * 3) / 4);
    } else size += v.length;
  }
  return { errs, size };
}

export function validateConfigMap(obj: Record<string, unknown>): FieldError[] {
  const a = validateDataMap(obj.data, 'data', false);
  const b = validateDataMap(obj.binaryData, 'binaryData', true);
  const out = [...a.errs, ...b.errs];
  if (isPlainObject(obj.data) && isPlainObject(obj.binaryData)) {
    for (const k of Object.keys(obj.data)) if (k in obj.binaryData) out.push(invalid('data', k, 'duplicate of key present in binaryData'));
  }
  if (a.size + b.size > MAX_DATA) out.push({ type: 'FieldValueTooLong', field: '', detail: `must have at most ${MAX_DATA} bytes` });
  return out;
}

export function validateSecret(obj: Record<string, unknown>): FieldError[] {
  const d = validateDataMap(obj.data, 'data', true);
  const s = validateDataMap(obj.stringData, 'stringData', false);
  const out = [...d.errs, ...s.errs];
  if (d.size + s.size > MAX_DATA) out.push({ type: 'FieldValueTooLong', field: 'data', detail: `must have at most ${MAX_DATA} bytes` });
  const data = { ...(isPlainObject(obj.data) ? obj.data : {}), ...(isPlainObject(obj.stringData) ? obj.stringData : {}) };
  switch (obj.type) {
    case 'kubernetes.io/tls':
      for (const k of ['tls.crt', 'tls.key']) if (!(k in data)) out.push(required(`data[${k}]`));
      break;
    case 'kubernetes.io/dockerconfigjson':
      if (!('.dockerconfigjson' in data)) out.push(required('data[.dockerconfigjson]'));
      break;
    case 'kubernetes.io/basic-auth':
      break;
    case 'kubernetes.io/ssh-auth':
      if (!('ssh-privatekey' in data)) out.push(required('data[ssh-privatekey]'));
      break;
  }
  return out;
}

function validateResourceList(m: unknown, f: string): FieldError[] {
  if (m === undefined || m === null) return [];
  if (!isPlainObject(m)) return [invalid(f, m, 'must be a map of resource names to quantities')];
  const out: FieldError[] = [];
  for (const [k, v] of Object.entries(m)) {
    const q = milliValue(v);
    if (q === undefined) out.push(invalid(`${f}[${k}]`, v, QUANTITY_MSG));
    else if (q < 0n) out.push(invalid(`${f}[${k}]`, v, 'must be greater than or equal to 0'));
  }
  return out;
}

export function validateResourceQuota(obj: Record<string, unknown>): FieldError[] {
  const spec = isPlainObject(obj.spec) ? obj.spec : {};
  return validateResourceList(spec.hard, 'spec.hard');
}

export function validateLimitRange(obj: Record<string, unknown>): FieldError[] {
  const spec = obj.spec;
  if (!isPlainObject(spec)) return [required('spec')];
  const out: FieldError[] = [];
  if (!Array.isArray(spec.limits)) return [required('spec.limits')];
  spec.limits.forEach((l: unknown, i: number) => {
    const f = `spec.limits[${i}]`;
    if (!isPlainObject(l)) return out.push(invalid(f, l, 'must be an object'));
    const types = ['Pod', 'Container', 'PersistentVolumeClaim'];
    if (!types.includes(String(l.type))) out.push(notSupported(`${f}.type`, l.type, types));
    for (const k of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) out.push(...validateResourceList(l[k], `${f}.${k}`));
  });
  return out;
}

export function validateEndpointSlice(obj: Record<string, unknown>): FieldError[] {
  const out: FieldError[] = [];
  const types = ['IPv4', 'IPv6', 'FQDN'];
  if (!obj.addressType) out.push(required('addressType'));
  else if (!types.includes(jsonText(obj.addressType))) out.push(notSupported('addressType', obj.addressType, types));
  if (obj.endpoints !== undefined && !Array.isArray(obj.endpoints)) out.push(invalid('endpoints', obj.endpoints, 'must be a list'));
  if (Array.isArray(obj.endpoints))
    obj.endpoints.forEach((e: unknown, i: number) => {
      if (!isPlainObject(e) || !Array.isArray(e.addresses) || e.addresses.length === 0) out.push(required(`endpoints[${i}].addresses`));
    });
  return out;
}

export function validateEndpoints(obj: Record<string, unknown>): FieldError[] {
  const out: FieldError[] = [];
  if (obj.subsets !== undefined && obj.subsets !== null && !Array.isArray(obj.subsets)) out.push(invalid('subsets', obj.subsets, 'must be a list'));
  if (Array.isArray(obj.subsets))
    obj.subsets.forEach((s: unknown, i: number) => {
      if (!isPlainObject(s)) return;
      for (const key of ['addresses', 'notReadyAddresses']) {
        const list = s[key];
        if (Array.isArray(list))
          list.forEach((a: unknown, j: number) => {
            if (!isPlainObject(a) || !a.ip) out.push(required(`subsets[${i}].${key}[${j}].ip`));
          });
      }
    });
  return out;
}

function validateBackend(b: unknown, f: string): FieldError[] {
  if (!isPlainObject(b)) return [required(f)];
  const out: FieldError[] = [];
  if (b.service === undefined && b.resource === undefined) out.push(invalid(f, '', 'must specify one of: `resource` or `service`'));
  if (isPlainObject(b.service)) {
    if (!b.service.name) out.push(required(`${f}.service.name`));
    const port = b.service.port;
    if (!isPlainObject(port) || (port.number === undefined && port.name === undefined))
      out.push(required(`${f}.service.port`, 'port name or number is required'));
  }
  return out;
}

export function validateIngress(obj: Record<string, unknown>): FieldError[] {
  const spec = obj.spec;
  if (!isPlainObject(spec)) return [];
  const out: FieldError[] = [];
  if (spec.defaultBackend !== undefined) out.push(...validateBackend(spec.defaultBackend, 'spec.defaultBackend'));
  const rules = spec.rules;
  if (Array.isArray(rules))
    rules.forEach((r: unknown, i: number) => {
      if (!isPlainObject(r)) return;
      if (r.host) {
        const host = jsonText(r.host).replace(/^\*\./, '');
        for (const m of dns1123Subdomain(host)) out.push(invalid(`spec.rules[${i}].host`, r.host, m));
      }
      const http = r.http;
      if (isPlainObject(http)) {
        if (!Array.isArray(http.paths) || http.paths.length === 0) out.push(required(`spec.rules[${i}].http.paths`));
        else
          http.paths.forEach((p: unknown, j: number) => {
            const f = `spec.rules[${i}].http.paths[${j}]`;
            if (!isPlainObject(p)) return;
            const types = ['Exact', 'Prefix', 'ImplementationSpecific'];
            if (!p.pathType) out.push(required(`${f}.pathType`, 'pathType must be specified'));
            else if (!types.includes(jsonText(p.pathType))) out.push(notSupported(`${f}.pathType`, p.pathType, types));
            if (p.pathType !== 'ImplementationSpecific' && p.path !== undefined && !jsonText(p.path).startsWith('/')) {
              out.push(invalid(`${f}.path`, p.path, 'must be an absolute path'));
            }
            out.push(...validateBackend(p.backend, `${f}.backend`));
          });
      }
    });
  return out;
}

export function validateNode(obj: Record<string, unknown>): FieldError[] {
  const spec = isPlainObject(obj.spec) ? obj.spec : {};
  const out: FieldError[] = [];
  if (Array.isArray(spec.taints))
    spec.taints.forEach((t: unknown, i: number) => {
      if (!isPlainObject(t) || !t.key) out.push(required(`spec.taints[${i}].key`));
      const effects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
      if (isPlainObject(t) && !effects.includes(String(t.effect))) out.push(notSupported(`spec.taints[${i}].effect`, t.effect, effects));
    });
  return out;
}

export function validateEvent(obj: Record<string, unknown>, namespace: string | undefined): FieldError[] {
  const out: FieldError[] = [];
  const io = obj.involvedObject ?? obj.regarding;
  if (isPlainObject(io) && io.namespace && namespace && io.namespace !== namespace) {
    out.push(invalid('involvedObject.namespace', io.namespace, 'does not match event.namespace'));
  }
  return out;
}
