/**
 * What a container's environment and resolver files hold, as the kubelet
 * writes them: Service environment variables, `$(VAR)` expansion,
 * /etc/resolv.conf and /etc/hosts. Pure.
 */
import type { Pod, ServicePort, Service } from 'kubernetes-types/core/v1.js';

/**
 * The pod's hostname: spec.hostname, else the pod's name, cut to 63
 * characters (a Linux hostname's limit) without a trailing '-' or '.', as
 * the kubelet does. Every container of the pod has it.
 */
export function podHostname(pod: Pod, nodeName?: string): string {
  // A pod on the host's network has the node's hostname, as its UTS namespace is the node's in Kubernetes.
  if (pod.spec?.hostNetwork && nodeName) return nodeName;
  const name = pod.spec?.hostname || pod.metadata?.name || '';
  return name.length <= 63 ? name : name.slice(0, 63).replace(/[-.]+$/, '');
}

const envName = (svc: string) => svc.toUpperCase().replace(/[-.]/g, '_');

/**
 * The Service variables of the pod's namespace (when enableServiceLinks)
 * plus the `kubernetes` Service of `default`: only Services with a cluster
 * IP. Later ones do not override earlier ones; the container's env wins.
 */
export function serviceEnv(services: Service[], namespace: string, enableServiceLinks: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const chosen = services.filter((s) => {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === 'None' || s.spec?.type === 'ExternalName') return false;
    if (s.metadata?.namespace === 'default' && s.metadata.name === 'kubernetes') return true;
    return enableServiceLinks && s.metadata?.namespace === namespace;
  });
  // Kubernetes sorts by name so the result does not depend on list order.
  const nameOf = (s: Service) => s.metadata?.name ?? '';
  chosen.sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
  for (const s of chosen) {
    const name = envName(nameOf(s));
    const ip = s.spec!.clusterIP!; // chosen: it has one
    const ports = s.spec?.ports ?? [];
    const first = ports[0];
    if (!first) continue;
    out[`${name}_SERVICE_HOST`] = ip;
    out[`${name}_SERVICE_PORT`] = String(first.port);
    for (const p of ports) if (p.name) out[`${name}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    const proto = (p: ServicePort) => String(p.protocol ?? 'TCP').toLowerCase();
    out[`${name}_PORT`] = `${proto(first)}://${ip}:${first.port}`;
    for (const p of ports) {
      const prefix = `${name}_PORT_${p.port}_${proto(p).toUpperCase()}`;
      out[prefix] = `${proto(p)}://${ip}:${p.port}`;
      out[`${prefix}_PROTO`] = proto(p);
      out[`${prefix}_PORT`] = String(p.port);
      out[`${prefix}_ADDR`] = ip;
    }
  }
  return out;
}

/**
 * Kubernetes' `$(VAR)` expansion: a defined variable is replaced, `$$` is a
 * literal `$`, and an undefined `$(VAR)` stays as written.
 */
export function expand(text: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '$' && text[i + 1] === '$') {
      out += '$';
      i++;
    } else if (c === '$' && text[i + 1] === '(') {
      const end = text.indexOf(')', i + 2);
      if (end < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, end);
      out += Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : `$(${name})`;
      i = end;
    } else out += c;
  }
  return out;
}

/** /etc/resolv.conf for the pod's dnsPolicy and dnsConfig. */
export function resolvConf(pod: Pod, opts: { dnsIP: string; domain?: string; nodeResolvConf: string }): string {
  const domain = opts.domain ?? 'cluster.local';
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const cfg = pod.spec?.dnsConfig ?? {};
  let nameservers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  const clusterFirst = policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet';
  if (clusterFirst && !(pod.spec?.hostNetwork && policy === 'ClusterFirst')) {
    nameservers = [opts.dnsIP];
    searches = [`${pod.metadata?.namespace}.svc.${domain}`, `svc.${domain}`, domain];
    options = ['ndots:5'];
  } else if (policy !== 'None') {
    for (const line of opts.nodeResolvConf.split('\n')) {
      const [k, ...rest] = line.trim().split(/\s+/);
      if (k === 'nameserver') nameservers.push(...rest);
      else if (k === 'search') searches.push(...rest);
      else if (k === 'options') options.push(...rest);
    }
  }
  nameservers = [...nameservers, ...(cfg.nameservers ?? [])];
  searches = [...searches, ...(cfg.searches ?? [])];
  for (const o of cfg.options ?? []) {
    const text = o.value !== undefined ? `${o.name}:${o.value}` : String(o.name);
    options = [...options.filter((x) => x.split(':')[0] !== o.name), text];
  }
  return (
    [
      ...nameservers.slice(0, 3).map((n) => `nameserver ${n}`),
      ...(searches.length ? [`search ${searches.join(' ')}`] : []),
      ...(options.length ? [`options ${options.join(' ')}`] : []),
    ].join('\n') + '\n'
  );
}

/** The kubelet-managed /etc/hosts. */
export function etcHosts(pod: Pod, podIP: string, nodeName?: string, domain = 'cluster.local'): string {
  const hostname = podHostname(pod, nodeName);
  const sub = pod.spec?.hostNetwork ? undefined : pod.spec?.subdomain;
  const lines = [
    pod.spec?.hostNetwork ? '# Kubernetes-managed hosts file (host network).' : '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    sub ? `${podIP}\t${hostname}.${sub}.${pod.metadata?.namespace}.svc.${domain}\t${hostname}` : `${podIP}\t${hostname}`,
  ];
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) lines.push(`${a.ip}\t${(a.hostnames ?? []).join('\t')}`);
  }
  return lines.join('\n') + '\n';
}
