/** Service validation (allocation of IPs and ports is the api-server's, not here). */
import { type FieldError, required, invalid, notSupported, duplicate } from '../field-errors.js';
import { isPlainObject } from '../types.js';
import { jsonText } from '../json.js';
import { validateLabels } from './meta.js';

const TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const AFFINITY = ['ClientIP', 'None'];
const IANA_SVC_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const validPort = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

export function validateServiceSpec(spec: unknown): FieldError[] {
  const out: FieldError[] = [];
  if (!isPlainObject(spec)) return [required('spec')];
  const type = jsonText(spec.type ?? 'ClusterIP');
  if (!TYPES.includes(type)) out.push(notSupported('spec.type', spec.type, TYPES));
  if (spec.sessionAffinity !== undefined && !AFFINITY.includes(jsonText(spec.sessionAffinity))) {
    out.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, AFFINITY));
  }
  const headless = spec.clusterIP === 'None';
  const ports = spec.ports;
  if (ports === undefined || ports === null || (Array.isArray(ports) && ports.length === 0)) {
    if (type !== 'ExternalName' && !headless) out.push(required('spec.ports'));
  } else if (!Array.isArray(ports)) out.push(invalid('spec.ports', ports, 'must be a list'));
  else {
    const names = new Set<string>();
    const seen = new Set<string>();
    ports.forEach((p: unknown, i: number) => {
      const f = `spec.ports[${i}]`;
      if (!isPlainObject(p)) return out.push(invalid(f, p, 'must be an object'));
      if (ports.length > 1 && !p.name) out.push(required(`${f}.name`));
      if (p.name) {
        const n = jsonText(p.name);
        if (!IANA_SVC_NAME.test(n) || n.length > 63)
          out.push(
            invalid(
              `${f}.name`,
              p.name,
              "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            ),
          );
        if (names.has(n)) out.push(duplicate(`${f}.name`, n));
        names.add(n);
      }
      if (p.port === undefined) out.push(required(`${f}.port`));
      else if (!validPort(p.port)) out.push(invalid(`${f}.port`, p.port, 'must be between 1 and 65535, inclusive'));
      const proto = jsonText(p.protocol ?? 'TCP');
      if (!PROTOCOLS.includes(proto)) out.push(notSupported(`${f}.protocol`, p.protocol, PROTOCOLS));
      const key = `${jsonText(p.port)}/${proto}`;
      if (seen.has(key)) out.push(duplicate(f, { port: p.port, protocol: proto }));
      seen.add(key);
      const tp = p.targetPort;
      if (tp !== undefined) {
        if (typeof tp === 'number') {
          if (!validPort(tp)) out.push(invalid(`${f}.targetPort`, tp, 'must be between 1 and 65535, inclusive'));
        } else if (typeof tp !== 'string' || !/[a-z]/.test(tp) || tp.length > 15 || !IANA_SVC_NAME.test(tp)) {
          out.push(invalid(`${f}.targetPort`, tp, 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'));
        }
      }
      if (p.nodePort !== undefined && p.nodePort !== 0) {
        if (type === 'ClusterIP') out.push(invalid(`${f}.nodePort`, p.nodePort, "may not be used when `type` is 'ClusterIP'"));
        else if (!validPort(p.nodePort)) out.push(invalid(`${f}.nodePort`, p.nodePort, 'must be between 1 and 65535, inclusive'));
      }
    });
  }
  if (type === 'ExternalName') {
    if (!spec.externalName) out.push(required('spec.externalName'));
  }
  if (spec.selector !== undefined && spec.selector !== null) out.push(...validateLabels(spec.selector, 'spec.selector'));
  if (spec.externalTrafficPolicy !== undefined && type !== 'NodePort' && type !== 'LoadBalancer') {
    out.push(invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, "may only be set when `type` is 'NodePort' or 'LoadBalancer'"));
  }
  return out;
}
