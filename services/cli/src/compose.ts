/**
 * Reading the compose file as `kemu up` needs it: variable interpolation
 * (`${VAR}`, `${VAR:-default}`, `$$`), YAML merge keys, and per service the
 * command, environment, start order and fixed address. Pure.
 */
import { parse } from 'yaml';
import { contains, formatCidr, formatIPv4, isIPv4, parseCidr, parseIPv4, type Cidr } from '@kemu/api';
import { splitProcesses } from './processes.js';

export interface ComposeService {
  name: string;
  command: string[];
  environment: Record<string, string>;
  dependsOn: { name: string; condition: 'service_started' | 'service_healthy' | 'service_completed_successfully' }[];
  address?: string;
  /** One-shot services (restart: "no") run to completion before their dependants. */
  oneShot: boolean;
  /** The healthcheck's command, as argv (CMD-SHELL becomes `sh -c`). */
  healthcheck?: string[];
  /** The process's name when the service runs several (see processes.ts). */
  process?: string;
  /** The service whose network namespace this process shares (its other processes); its own otherwise. */
  netns?: string;
}

/**
 * A service whose command is the supervisor's becomes one entry per process: the
 * first keeps the service's name (node-1: the kubelet, as before), the others are
 * `<service>/<process>` (node-1/kube-proxy) in the first one's namespace, with
 * its address. The service's healthcheck stays with the first (it checks them all).
 */
export function expandProcesses(s: ComposeService): ComposeService[] {
  const procs = splitProcesses(s.command);
  if (!procs) return [s];
  return procs.map((p, i) => (i === 0
    ? { ...s, command: p.command, process: p.name }
    : { ...s, name: `${s.name}/${p.name}`, command: p.command, process: p.name, netns: s.name, oneShot: false, healthcheck: undefined }));
}

/**
 * A replicated service (deploy.replicas) with `x-kemu-addresses: a.b.c.`
 * becomes services `<name>-1..N` at a.b.c.1..N, each told its name, address
 * and network namespace through NODE_NAME, NODE_IP and NODE_NETNS.
 */
export function expandReplicas(s: ComposeService & { replicas?: number; addressPrefix?: string }, project: string): ComposeService[] {
  if (s.replicas === 0) return []; // as compose: no containers of it (`kemu up --nodes 0` is a control plane alone)
  if (!s.replicas || !s.addressPrefix) return [s];
  // a.b.c.1 .. a.b.c.N: the prefix must name a /24, and .0 and .255 are not host addresses.
  const block = `${s.addressPrefix}0`;
  if (!s.addressPrefix.endsWith('.') || !isIPv4(block)) throw new Error(`compose file: ${s.name}: x-kemu-addresses "${s.addressPrefix}" must be the first three octets of an address, like 172.28.1.`);
  if (s.replicas > 254) throw new Error(`compose file: ${s.name}: ${s.replicas} replicas do not fit in ${s.addressPrefix}1-254`);
  const first = parseIPv4(block);
  return Array.from({ length: s.replicas }, (_, i) => {
    const name = `${s.name}-${i + 1}`;
    const address = formatIPv4(first + i + 1);
    return { ...s, name, address, environment: { ...s.environment, NODE_NAME: name, NODE_IP: address, NODE_NETNS: `${project}-${name}` } };
  });
}

export interface ComposeProject {
  name: string;
  subnet: string;
  gateway: string;
  services: ComposeService[];
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR and $$. */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name, op, def, bare) => {
    if (m === '$$') return '$';
    if (bare) return env[bare] ?? '';
    const v = env[name];
    if (op === ':-') return v === undefined || v === '' ? def : v;
    if (op === '-') return v === undefined ? def : v;
    return v ?? '';
  });
}

function asList(cmd: unknown): string[] {
  if (Array.isArray(cmd)) return cmd.map(String);
  if (typeof cmd === 'string') return cmd.split(/\s+/).filter(Boolean);
  return [];
}

export function parseCompose(text: string, env: Record<string, string | undefined>): ComposeProject {
  // Interpolate every string value after parsing, so values can never change the YAML structure.
  const doc = parse(text, { merge: true }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return interpolate(v, env);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const d = walk(doc) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const netName = Object.keys(d.networks ?? {})[0];
  const ipam = d.networks?.[netName]?.ipam?.config?.[0] ?? {};
  if (!ipam.subnet) throw new Error('compose file: the network needs ipam.config[0].subnet');
  const services: ComposeService[] = Object.entries(d.services ?? {}).map(([name, s]: [string, any]) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const deps = s.depends_on ?? [];
    const dependsOn = Array.isArray(deps)
      ? deps.map((n: string) => ({ name: n, condition: 'service_started' as const }))
      : Object.entries(deps).map(([n, c]: [string, any]) => ({ name: n, condition: c?.condition ?? 'service_started' })); // eslint-disable-line @typescript-eslint/no-explicit-any
    const envList = s.environment ?? {};
    const environment: Record<string, string> = Array.isArray(envList)
      ? Object.fromEntries(envList.map((e: string) => [e.split('=')[0], e.split('=').slice(1).join('=')]))
      : Object.fromEntries(Object.entries(envList).map(([k, v]) => [k, String(v)]));
    return {
      name,
      command: asList(s.command),
      environment,
      dependsOn,
      address: s.networks?.[netName]?.ipv4_address,
      oneShot: String(s.restart) === 'no',
      healthcheck: healthcheck(s.healthcheck?.test),
      replicas: s.deploy?.replicas !== undefined ? Number(s.deploy.replicas) : undefined,
      addressPrefix: s['x-kemu-addresses'],
    };
  });
  const project = env.KEMU_PROJECT ?? d.name ?? 'kemu';
  const expanded = services.flatMap((s) => expandReplicas(s, project)).flatMap(expandProcesses);
  checkAddresses(ipam.subnet, ipam.gateway, expanded);
  // Dependants of a replicated service wait for all its replicas.
  for (const s of expanded) s.dependsOn = s.dependsOn.flatMap((d) => (expanded.some((x) => x.name === d.name) ? [d] : expanded.filter((x) => x.name.startsWith(`${d.name}-`)).map((x) => ({ ...d, name: x.name }))));
  return { name: d.name ?? 'kemu', subnet: ipam.subnet, gateway: ipam.gateway, services: expanded };
}

/**
 * What Docker refuses when it creates the network and its containers: a
 * subnet that is not a CIDR, a gateway or a service address outside it, two
 * services on one address. Said here, before any namespace exists.
 */
export function checkAddresses(subnet: string, gateway: string | undefined, services: ComposeService[]): void {
  let net: Cidr;
  try {
    net = parseCidr(subnet);
  } catch (e) {
    throw new Error(`compose file: the network's subnet: ${(e as Error).message}`);
  }
  const inside = (what: string, ip: string) => {
    if (!isIPv4(ip)) throw new Error(`compose file: ${what}: invalid IP address: "${ip}"`);
    if (!contains(net, ip)) throw new Error(`compose file: ${what}: ${ip} is not in the network's subnet ${formatCidr(net)}`);
  };
  if (gateway) inside('the network\'s gateway', gateway);
  const owner = new Map<string, string>();
  for (const s of services) {
    if (!s.address || s.netns) continue; // a second process of a service shares its address
    inside(`service ${s.name}`, s.address);
    const other = owner.get(s.address);
    if (other) throw new Error(`compose file: services ${other} and ${s.name} both have the address ${s.address}`);
    owner.set(s.address, s.name);
  }
}

function healthcheck(test: unknown): string[] | undefined {
  if (typeof test === 'string') return ['sh', '-c', test];
  if (!Array.isArray(test) || test.length < 2) return undefined;
  const [kind, ...rest] = test.map(String);
  if (kind === 'CMD') return rest;
  if (kind === 'CMD-SHELL') return ['sh', '-c', rest.join(' ')];
  return undefined;
}

/** Services in an order where each comes after what it depends on. */
export function startOrder(services: ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const out: ComposeService[] = [];
  const seen = new Set<string>();
  const visit = (s: ComposeService, path: string[]) => {
    if (seen.has(s.name)) return;
    if (path.includes(s.name)) throw new Error(`compose file: dependency cycle ${[...path, s.name].join(' -> ')}`);
    for (const d of s.dependsOn) {
      const dep = byName.get(d.name);
      if (!dep) throw new Error(`compose file: ${s.name} depends on unknown service ${d.name}`);
      visit(dep, [...path, s.name]);
    }
    seen.add(s.name);
    out.push(s);
  };
  services.forEach((s) => visit(s, []));
  return out;
}
