/**
 * Builders for Service and EndpointSlice objects in unit tests, shaped like
 * kube-proxy's makeTestService / makeTestEndpointSlice so that its test scenarios
 * (and golden rulesets) can be replayed here.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';

export function makeService(namespace: string, name: string, spec: Service['spec'], status?: Service['status']): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name },
    spec: { type: 'ClusterIP', sessionAffinity: 'None', ...spec },
    ...(status ? { status } : {}),
  };
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
