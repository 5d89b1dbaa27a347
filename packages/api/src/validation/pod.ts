/** Pod spec validation (also used for the templates of workloads). */
import { type FieldError, required, invalid, notSupported, duplicate, forbiddenField } from '../field-errors.js';
import { isPlainObject, jsonEqual } from '../types.js';
import { jsonText } from '../json.js';
import { milliValue, QUANTITY_MSG } from '../quantity.js';
import { dns1123Label, dns1123Subdomain } from './names.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const RESTART = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PULL = ['Always', 'IfNotPresent', 'Never'];
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const ENV_NAME_MSG =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";

function validPort(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

function validateResources(res: unknown, f: string): FieldError[] {
  const out: FieldError[] = [];
  if (res === undefined) return out;
  if (!isPlainObject(res)) return [invalid(f, res, 'must be an object')];
  const values: Record<string, Record<string, bigint>> = { limits: {}, requests: {} };
  for (const part of ['limits', 'requests'] as const) {
    const m = res[part];
    if (m === undefined || m === null) continue;
    if (!isPlainObject(m)) {
      out.push(invalid(`${f}.${part}`, m, 'must be a map of resource names to quantities'));
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      const q = milliValue(v);
      if (q === undefined) out.push(invalid(`${f}.${part}[${k}]`, v, QUANTITY_MSG));
      else if (q < 0n) out.push(invalid(`${f}.${part}[${k}]`, v, 'must be greater than or equal to 0'));
      else values[part][k] = q;
    }
  }
  for (const [k, req] of Object.entries(values.requests)) {
    const lim = values.limits[k];
    if (lim !== undefined && req > lim) {
      out.push(
        invalid(
          `${f}.requests`,
          (res.requests as Record<string, unknown>)[k],
          `must be less than or equal to ${k} limit of ${jsonText((res.limits as Record<string, unknown>)[k])}`,
        ),
      );
    }
  }
  return out;
}

function validateProbe(p: unknown, f: string): FieldError[] {
  if (p === undefined || p === null) return [];
  if (!isPlainObject(p)) return [invalid(f, p, 'must be an object')];
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => p[h] !== undefined);
  const out: FieldError[] = [];
  if (handlers.length === 0) out.push(required(f, 'must specify a handler type'));
  if (handlers.length > 1) out.push(forbiddenField(`${f}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    if (p[k] !== undefined && (typeof p[k] !== 'number' || p[k] < 0)) {
      out.push(invalid(`${f}.${k}`, p[k], 'must be greater than or equal to 0'));
    }
  }
  return out;
}

function validateContainer(c: unknown, f: string, volumes: Set<string>, init: boolean): FieldError[] {
  const out: FieldError[] = [];
  if (!isPlainObject(c)) return [invalid(f, c, 'must be an object')];
  if (!c.name) out.push(required(`${f}.name`));
  else for (const m of dns1123Label(jsonText(c.name))) out.push(invalid(`${f}.name`, c.name, m));
  if (!c.image || typeof c.image !== 'string' || !c.image.trim()) out.push(required(`${f}.image`));
  if (c.imagePullPolicy !== undefined && !PULL.includes(jsonText(c.imagePullPolicy))) {
    out.push(notSupported(`${f}.imagePullPolicy`, c.imagePullPolicy, PULL));
  }
  for (const k of ['command', 'args'] as const) {
    if (c[k] !== undefined && (!Array.isArray(c[k]) || !(c[k] as unknown[]).every((x) => typeof x === 'string'))) {
      out.push(invalid(`${f}.${k}`, c[k], 'must be a list of strings'));
    }
  }
  if (c.ports !== undefined) {
    if (!Array.isArray(c.ports)) out.push(invalid(`${f}.ports`, c.ports, 'must be a list'));
    else {
      const names = new Set<string>();
      c.ports.forEach((p: unknown, i: number) => {
        const pf = `${f}.ports[${i}]`;
        if (!isPlainObject(p)) return out.push(invalid(pf, p, 'must be an object'));
        if (p.containerPort === undefined) out.push(required(`${pf}.containerPort`));
        else if (!validPort(p.containerPort)) out.push(invalid(`${pf}.containerPort`, p.containerPort, 'must be between 1 and 65535, inclusive'));
        if (p.hostPort !== undefined && p.hostPort !== 0 && !validPort(p.hostPort))
          out.push(invalid(`${pf}.hostPort`, p.hostPort, 'must be between 1 and 65535, inclusive'));
        if (p.protocol !== undefined && !PROTOCOLS.includes(jsonText(p.protocol))) out.push(notSupported(`${pf}.protocol`, p.protocol, PROTOCOLS));
        if (p.name !== undefined) {
          const n = jsonText(p.name);
          if (n.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n) || !/[a-z]/.test(n) || n.includes('--')) {
            out.push(
              invalid(`${pf}.name`, p.name, 'must be no more than 15 characters and contain only lowercase alphanumerics and "-", with at least one letter'),
            );
          } else if (names.has(n)) out.push(duplicate(`${pf}.name`, n));
          names.add(n);
        }
      });
    }
  }
  if (c.env !== undefined) {
    if (!Array.isArray(c.env)) out.push(invalid(`${f}.env`, c.env, 'must be a list'));
    else
      c.env.forEach((e: unknown, i: number) => {
        const ef = `${f}.env[${i}]`;
        if (!isPlainObject(e)) return out.push(invalid(ef, e, 'must be an object'));
        if (!e.name) out.push(required(`${ef}.name`));
        else if (!ENV_NAME.test(jsonText(e.name))) out.push(invalid(`${ef}.name`, e.name, ENV_NAME_MSG));
        if (e.value !== undefined && e.valueFrom !== undefined) {
          out.push(invalid(`${ef}.valueFrom`, '', 'may not be specified when `value` is not empty'));
        }
      });
  }
  if (c.volumeMounts !== undefined) {
    if (!Array.isArray(c.volumeMounts)) out.push(invalid(`${f}.volumeMounts`, c.volumeMounts, 'must be a list'));
    else {
      const paths = new Set<string>();
      c.volumeMounts.forEach((m: unknown, i: number) => {
        const mf = `${f}.volumeMounts[${i}]`;
        if (!isPlainObject(m)) return out.push(invalid(mf, m, 'must be an object'));
        if (!m.name) out.push(required(`${mf}.name`));
        else if (!volumes.has(jsonText(m.name))) out.push(notSupported(`${mf}.name`, m.name, [...volumes]));
        if (!m.mountPath) out.push(required(`${mf}.mountPath`));
        else if (paths.has(jsonText(m.mountPath))) out.push(invalid(`${mf}.mountPath`, m.mountPath, 'must be unique'));
        paths.add(String(m.mountPath));
      });
    }
  }
  out.push(...validateResources(c.resources, `${f}.resources`));
  if (!init) {
    out.push(...validateProbe(c.livenessProbe, `${f}.livenessProbe`));
    out.push(...validateProbe(c.readinessProbe, `${f}.readinessProbe`));
    out.push(...validateProbe(c.startupProbe, `${f}.startupProbe`));
  }
  return out;
}

const VOLUME_SOURCES = ['emptyDir', 'hostPath', 'secret', 'configMap', 'downwardAPI', 'projected', 'persistentVolumeClaim', 'nfs', 'csi', 'ephemeral'];

/** Validate a PodSpec at `f` (e.g. `spec` or `spec.template.spec`). */
export function validatePodSpec(spec: unknown, f: string, isPod = false): FieldError[] {
  const out: FieldError[] = [];
  if (!isPlainObject(spec)) return [required(f)];
  out.push(...validateHostNetworkPorts(spec, f, isPod));
  const volumes = new Set<string>();
  if (spec.volumes !== undefined) {
    if (!Array.isArray(spec.volumes)) out.push(invalid(`${f}.volumes`, spec.volumes, 'must be a list'));
    else
      spec.volumes.forEach((v: unknown, i: number) => {
        const vf = `${f}.volumes[${i}]`;
        if (!isPlainObject(v)) return out.push(invalid(vf, v, 'must be an object'));
        if (!v.name) out.push(required(`${vf}.name`));
        else {
          for (const m of dns1123Label(jsonText(v.name))) out.push(invalid(`${vf}.name`, v.name, m));
          if (volumes.has(jsonText(v.name))) out.push(duplicate(`${vf}.name`, v.name));
          volumes.add(jsonText(v.name));
        }
        const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined);
        if (sources.length === 0) out.push(required(vf, 'must specify a volume type'));
        if (sources.length > 1) out.push(forbiddenField(`${vf}.${sources[1]}`, 'may not specify more than 1 volume type'));
      });
  }
  const names = new Set<string>();
  for (const [key, init] of [
    ['initContainers', true],
    ['containers', false],
  ] as const) {
    const list = spec[key];
    if (list === undefined || list === null) {
      if (key === 'containers') out.push(required(`${f}.containers`));
      continue;
    }
    if (!Array.isArray(list)) {
      out.push(invalid(`${f}.${key}`, list, 'must be a list'));
      continue;
    }
    if (key === 'containers' && list.length === 0) out.push(required(`${f}.containers`));
    list.forEach((c: unknown, i: number) => {
      out.push(...validateContainer(c, `${f}.${key}[${i}]`, volumes, init));
      const n = isPlainObject(c) ? jsonText(c.name ?? '') : '';
      if (n && names.has(n)) out.push(duplicate(`${f}.${key}[${i}].name`, n));
      if (n) names.add(n);
    });
  }
  if (spec.restartPolicy !== undefined && !RESTART.includes(jsonText(spec.restartPolicy))) {
    out.push(notSupported(`${f}.restartPolicy`, spec.restartPolicy, RESTART));
  }
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(jsonText(spec.dnsPolicy))) {
    out.push(notSupported(`${f}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  }
  if (spec.terminationGracePeriodSeconds !== undefined && (typeof spec.terminationGracePeriodSeconds !== 'number' || spec.terminationGracePeriodSeconds < 0)) {
    out.push(invalid(`${f}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be greater than or equal to 0'));
  }
  if (spec.hostname !== undefined) for (const m of dns1123Label(jsonText(spec.hostname))) out.push(invalid(`${f}.hostname`, spec.hostname, m));
  if (spec.subdomain !== undefined) for (const m of dns1123Label(jsonText(spec.subdomain))) out.push(invalid(`${f}.subdomain`, spec.subdomain, m));
  if (spec.nodeName !== undefined && spec.nodeName !== '')
    for (const m of dns1123Subdomain(jsonText(spec.nodeName))) out.push(invalid(`${f}.nodeName`, spec.nodeName, m));
  if (spec.nodeSelector !== undefined && !isPlainObject(spec.nodeSelector)) out.push(invalid(`${f}.nodeSelector`, spec.nodeSelector, 'must be a map'));
  if (spec.tolerations !== undefined && !Array.isArray(spec.tolerations)) out.push(invalid(`${f}.tolerations`, spec.tolerations, 'must be a list'));
  return out;
}

/**
 * On the host's network a container port is the node's port: hostPort must equal containerPort. A pod's hostPorts
 * were defaulted to its containerPorts; a template (a Deployment's) may leave them unset (Kubernetes since 1.28).
 */
function validateHostNetworkPorts(spec: Record<string, unknown>, f: string, isPod: boolean): FieldError[] {
  if (spec.hostNetwork !== true) return [];
  const out: FieldError[] = [];
  for (const key of ['initContainers', 'containers'])
    asArrayOf(spec[key]).forEach((c, i) =>
      asArrayOf(isPlainObject(c) ? c.ports : undefined).forEach((p, j) => {
        if (!isPlainObject(p)) return;
        const hp = typeof p.hostPort === 'number' ? p.hostPort : 0;
        if ((isPod || hp !== 0) && hp !== p.containerPort)
          out.push(invalid(`${f}.${key}[${i}].ports[${j}].hostPort`, hp, 'must match `containerPort` when `hostNetwork` is true'));
      }),
    );
  return out;
}

const asArrayOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * A pod's spec may change only in container images, activeDeadlineSeconds and
 * added tolerations (Kubernetes' message, abbreviated to its first line).
 */
export function validatePodSpecUpdate(next: Record<string, unknown>, old: Record<string, unknown>): FieldError[] {
  const strip = (s: Record<string, unknown>) => {
    const c = structuredClone(s);
    for (const key of ['containers', 'initContainers']) {
      const list = c[key];
      if (Array.isArray(list)) for (const x of list) if (isPlainObject(x)) delete x.image;
    }
    delete c.activeDeadlineSeconds;
    delete c.tolerations;
    delete c.nodeName; // set once through the binding subresource
    return c;
  };
  if (!jsonEqual(strip(next), strip(old))) {
    return [
      forbiddenField(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    ];
  }
  if (old.nodeName && next.nodeName !== old.nodeName) return [forbiddenField('spec.nodeName', 'field is immutable')];
  return [];
}
