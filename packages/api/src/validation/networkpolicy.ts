/**
 * networking.k8s.io/v1 NetworkPolicy validation, as ValidateNetworkPolicySpec: the pod selector, policyTypes,
 * every rule's ports (protocol, number or IANA name, endPort ranges) and peers (pod and namespace selectors, or
 * an ipBlock of either family whose excepts are strict subsets of its CIDR).
 */
import { BlockList, isIP } from 'node:net';
import { type FieldError, required, invalid, notSupported, forbiddenField } from '../field-errors.js';
import { isPlainObject } from '../types.js';
import { jsonText } from '../json.js';
import { validateLabelSelector } from './workloads.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const POLICY_TYPES = ['Ingress', 'Egress'];
const PORT_RANGE = 'must be between 1 and 65535, inclusive';
const CIDR_MSG = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

const validPort = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

/** validation.IsValidPortName: an IANA service name. */
function portNameErrors(name: string): string[] {
  const out: string[] = [];
  if (name.length > 15) out.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) out.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) out.push('must contain at least one letter (a-z)');
  if (name.includes('--')) out.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

/** A CIDR's address and prefix, or undefined when it is none. */
export function parseAnyCidr(text: string): { ip: string; prefix: number; family: 4 | 6 } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const family = isIP(m[1]);
  const prefix = Number(m[2]);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return undefined;
  return { ip: m[1], prefix, family: family === 4 ? 4 : 6 };
}

function validateIPBlock(b: unknown, f: string): FieldError[] {
  if (!isPlainObject(b) || !b.cidr) return [required(`${f}.cidr`, '')];
  const cidr = parseAnyCidr(jsonText(b.cidr));
  if (!cidr) return [invalid(`${f}.cidr`, b.cidr, CIDR_MSG)];
  const out: FieldError[] = [];
  const within = new BlockList();
  within.addSubnet(cidr.ip, cidr.prefix, cidr.family === 4 ? 'ipv4' : 'ipv6');
  (Array.isArray(b.except) ? b.except : []).forEach((e: unknown, i: number) => {
    const ef = `${f}.except[${i}]`;
    const ex = parseAnyCidr(jsonText(e));
    if (!ex) return out.push(invalid(ef, e, CIDR_MSG));
    const inside = ex.family === cidr.family && within.check(ex.ip, ex.family === 4 ? 'ipv4' : 'ipv6');
    if (!inside || ex.prefix <= cidr.prefix) out.push(invalid(ef, e, 'must be a strict subset of `cidr`'));
  });
  return out;
}

function validatePeer(p: unknown, f: string): FieldError[] {
  if (!isPlainObject(p)) return [required(f, 'must specify a peer')];
  const out: FieldError[] = [];
  let n = 0;
  if (p.podSelector !== undefined && p.podSelector !== null) {
    n++;
    out.push(...validateLabelSelector(p.podSelector, `${f}.podSelector`, false));
  }
  if (p.namespaceSelector !== undefined && p.namespaceSelector !== null) {
    n++;
    out.push(...validateLabelSelector(p.namespaceSelector, `${f}.namespaceSelector`, false));
  }
  const hasBlock = p.ipBlock !== undefined && p.ipBlock !== null;
  if (hasBlock) {
    n++;
    out.push(...validateIPBlock(p.ipBlock, `${f}.ipBlock`));
  }
  if (n === 0) out.push(required(f, 'must specify a peer'));
  else if (n > 1 && hasBlock) out.push(forbiddenField(f, 'may not specify both ipBlock and another peer'));
  return out;
}

function validatePort(p: unknown, f: string): FieldError[] {
  if (!isPlainObject(p)) return [invalid(f, p, 'must be an object')];
  const out: FieldError[] = [];
  if (p.protocol !== undefined && !PROTOCOLS.includes(jsonText(p.protocol))) out.push(notSupported(`${f}.protocol`, p.protocol, PROTOCOLS));
  const end = p.endPort;
  if (p.port === undefined || p.port === null) {
    if (end !== undefined) out.push(invalid(`${f}.endPort`, end, 'may not be specified when `port` is not specified'));
  } else if (typeof p.port === 'number') {
    if (!validPort(p.port)) out.push(invalid(`${f}.port`, p.port, PORT_RANGE));
    if (end !== undefined) {
      if (typeof end !== 'number' || end < p.port) out.push(invalid(`${f}.endPort`, p.port, 'must be greater than or equal to `port`'));
      if (!validPort(end)) out.push(invalid(`${f}.endPort`, end, PORT_RANGE));
    }
  } else {
    if (end !== undefined) out.push(invalid(`${f}.endPort`, end, 'may not be specified when `port` is non-numeric'));
    for (const m of portNameErrors(jsonText(p.port))) out.push(invalid(`${f}.port`, p.port, m));
  }
  return out;
}

function validateRules(rules: unknown, f: string, peers: 'from' | 'to'): FieldError[] {
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [invalid(f, rules, 'must be a list')];
  const out: FieldError[] = [];
  rules.forEach((r: unknown, i: number) => {
    if (!isPlainObject(r)) return;
    const rf = `${f}[${i}]`;
    if (Array.isArray(r.ports)) r.ports.forEach((p: unknown, j: number) => out.push(...validatePort(p, `${rf}.ports[${j}]`)));
    const ps = r[peers];
    if (Array.isArray(ps)) ps.forEach((p: unknown, j: number) => out.push(...validatePeer(p, `${rf}.${peers}[${j}]`)));
  });
  return out;
}

/** The spec of a NetworkPolicy (after defaulting). */
export function validateNetworkPolicySpec(spec: unknown): FieldError[] {
  if (!isPlainObject(spec)) return [required('spec')];
  const out: FieldError[] = [];
  out.push(...validateLabelSelector(spec.podSelector ?? {}, 'spec.podSelector', false));
  out.push(...validateRules(spec.ingress, 'spec.ingress', 'from'));
  out.push(...validateRules(spec.egress, 'spec.egress', 'to'));
  const types = spec.policyTypes;
  if (Array.isArray(types)) {
    if (types.length > POLICY_TYPES.length) out.push(invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
    else
      types.forEach((t: unknown, i: number) => {
        if (!POLICY_TYPES.includes(jsonText(t))) out.push(notSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES));
      });
  }
  return out;
}
