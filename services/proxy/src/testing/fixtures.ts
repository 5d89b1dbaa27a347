/**
 * Builders for Service and EndpointSlice objects in unit tests, shaped like
 * kube-proxy's makeTestService / makeTestEndpointSlice so that its test scenarios
 * (and golden rulesets) can be replayed here.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { ServicePortInfo } from '../model/types.js';

export function makeService(namespace: string, name: string, spec: Service['spec'], status?: Service['status']): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name },
    spec: { type: 'ClusterIP', sessionAffinity: 'None', ...spec },
    ...(status ? { status } : {}),
  };
}

/** A LoadBalancer Service that a load balancer has given `ingressIP`. */
export function makeLoadBalancer(namespace: string, name: string, ingressIP: string, spec: Service['spec']): Service {
  return makeService(namespace, name, { type: 'LoadBalancer', ...spec }, { loadBalancer: { ingress: [{ ip: ingressIP }] } });
}

/** An EndpointSlice endpoint: one address, on a node if given, ready unless `conditions` say otherwise. */
export function makeEndpoint(ip: string, nodeName?: string, conditions?: Endpoint['conditions']): Endpoint {
  return { addresses: [ip], ...(nodeName === undefined ? {} : { nodeName }), ...(conditions ? { conditions } : {}) };
}

export function makeSlice(
  namespace: string,
  service: string,
  n: number,
  endpoints: Endpoint[],
  ports: { name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[],
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name: `${service}-${n}`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints,
    ports: ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
  };
}

/** A model Service port: ClusterIP ns/web 10.96.0.20:80/TCP with Cluster policies, changed by `over`. */
export function makeServicePort(over: Partial<ServicePortInfo> = {}): ServicePortInfo {
  return {
    namespace: 'ns',
    name: 'web',
    portName: '',
    protocol: 'TCP',
    type: 'ClusterIP',
    clusterIP: '10.96.0.20',
    port: 80,
    nodePort: 0,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
    externalPolicyLocal: false,
    ...over,
  };
}

/** Sort an iptables-restore input as kube-proxy's sortIPTablesRules does, to compare with its goldens. */
export function sortIptablesRestore(text: string): string {
  const out: string[] = [];
  const tables = new Map<string, { chains: string[]; rules: Map<string, string[]> }>();
  let cur: { chains: string[]; rules: Map<string, string[]> } | undefined;
  for (const line of text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')) {
    if (line.startsWith('*')) {
      cur = { chains: [], rules: new Map() };
      tables.set(line.slice(1), cur);
    } else if (line === 'COMMIT' || !cur) {
      continue;
    } else if (line.startsWith(':')) {
      cur.chains.push(line.slice(1).split(' ')[0]);
    } else {
      const chain = line.split(' ')[1];
      cur.rules.set(chain, [...(cur.rules.get(chain) ?? []), line]);
    }
  }
  const rank = (c: string): number => (c === 'KUBE-NODEPORTS' ? 0 : c === 'KUBE-SERVICES' ? 1 : c.startsWith('KUBE-') ? 2 : 3);
  const svcName = (rule: string): string => {
    const m = /--comment (?:"([^"]*)"|(\S+))/.exec(rule);
    const c = m ? (m[1] ?? m[2] ?? '') : '';
    const i = c.search(/[ :]/);
    return i === -1 ? c : c.slice(0, i);
  };
  for (const name of [...tables.keys()].sort()) {
    const t = tables.get(name) as { chains: string[]; rules: Map<string, string[]> };
    const chains = [...t.chains].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    out.push(`*${name}`, ...chains.map((c) => `:${c} - [0:0]`));
    for (const c of chains) {
      let rules = t.rules.get(c) ?? [];
      if (c === 'KUBE-NODEPORTS' || c === 'KUBE-SERVICES') {
        const last = (r: string): boolean => name === 'nat' && c === 'KUBE-SERVICES' && r.includes('must be the last rule');
        rules = [...rules].sort((a, b) => Number(last(a)) - Number(last(b)) || (svcName(a) < svcName(b) ? -1 : svcName(a) > svcName(b) ? 1 : 0));
      }
      out.push(...rules);
    }
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** Strip the common indentation of a template literal (Go's dedent), dropping the first empty line. */
export function dedent(s: string): string {
  const lines = s.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^\s*/.exec(l)?.[0].length ?? 0));
  return lines
    .map((l) => l.slice(indent))
    .join('\n')
    .replace(/[ \t]+$/, '');
}

/**
 * What every iptables sync writes whatever the Services (kube-proxy's defaults:
 * localhost NodePorts, mark bit 14, no liberal conntrack), as literal text, so a
 * golden lists only the lines its Services add.
 */
export const IPTABLES_BASE = {
  filterChains: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL'],
  natChains: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'],
  localnetFirewall:
    '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
  forward: [
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ],
  masquerade: [
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
  ],
  nodePortsJump:
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
} as const;

/** Chain declaration lines, as iptables-restore reads and iptables-save prints them. */
export const declareChains = (chains: readonly string[]): string[] => chains.map((c) => `:${c} - [0:0]`);

const textLines = (text = ''): string[] =>
  dedent(text)
    .split('\n')
    .filter((l) => l !== '');

/** The Service-specific lines of a golden iptables-restore input (indented text, as in the test source). */
export interface IptablesGoldenParts {
  /** filter rules, between the localnet firewall rule and the KUBE-FORWARD rules. */
  filter?: string;
  /** nat chain declarations after the base chains; by default, every non-base chain `nat` appends to. */
  natChains?: string;
  /** nat rules, between the masquerade rules and the KUBE-NODEPORTS jump. */
  nat: string;
  /** Chains the sync deletes: declared (flushed) among the others, removed with -X before the KUBE-NODEPORTS jump. */
  deleted?: readonly string[];
}

/** A whole iptables-restore input in the order kemu writes it: the base around a golden's own lines. */
const descending = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);
const leadsToServices = (rule: string): boolean => /^-A KUBE-(SERVICES|NODEPORTS) /.test(rule);

export function iptablesGolden(parts: IptablesGoldenParts): string {
  const nat = textLines(parts.nat);
  const base: readonly string[] = IPTABLES_BASE.natChains;
  const used = [...new Set(nat.filter((l) => l.startsWith('-A ')).map((l) => l.split(' ')[1] ?? ''))].filter((c) => !base.includes(c));
  const deleted = parts.deleted ?? [];
  return [
    '*filter',
    ...declareChains(IPTABLES_BASE.filterChains),
    IPTABLES_BASE.localnetFirewall,
    ...textLines(parts.filter),
    ...IPTABLES_BASE.forward,
    'COMMIT',
    '*nat',
    ...declareChains(IPTABLES_BASE.natChains),
    // Per-service chains are declared in descending name order, then the deleted ones (ruleset.ts says why).
    ...(parts.natChains === undefined ? declareChains(used) : textLines(parts.natChains)).sort(descending),
    ...declareChains(deleted).sort(descending),
    ...IPTABLES_BASE.masquerade,
    // The Services' own chains' rules, then those of KUBE-SERVICES and KUBE-NODEPORTS that lead to them.
    ...nat.filter((l) => !leadsToServices(l)),
    ...nat.filter(leadsToServices),
    IPTABLES_BASE.nodePortsJump,
    ...deleted.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}
