/**
 * Reading the compose file as `kemu up` needs it: variable interpolation
 * (`${VAR}`, `${VAR:-default}`, `$$`), YAML merge keys, and per service the
 * command, environment, start order and fixed address. Pure.
 */
import { parse } from 'yaml';
import { contains, formatCidr, formatIPv4, isIPv4, isPlainObject, parseCidr, parseIPv4, type Cidr } from '@kemu/api';
import { splitProcesses } from './processes.js';
import { formatRestart, parseRestart } from './restart-policy.js';

export interface ComposeService {
  name: string;
  command: string[];
  environment: Record<string, string>;
  dependsOn: { name: string; condition: 'service_started' | 'service_healthy' | 'service_completed_successfully' }[];
  address?: string;
  /** One-shot services (restart: "no") run to completion before their dependants. */
  oneShot: boolean;
  /** The compose `restart:` value (restart-policy.ts), which the service's keeper applies under `kemu up`. */
  restart?: string;
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
  return procs.map((p, i) =>
    i === 0
      ? { ...s, command: p.command, process: p.name }
      : { ...s, name: `${s.name}/${p.name}`, command: p.command, process: p.name, netns: s.name, oneShot: false, healthcheck: undefined },
  );
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
  if (!s.addressPrefix.endsWith('.') || !isIPv4(block))
    throw new Error(`compose file: ${s.name}: x-kemu-addresses "${s.addressPrefix}" must be the first three octets of an address, like 172.28.1.`);
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
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (m: string, name?: string, op?: string, def?: string, bare?: string) => {
      // Groups that did not take part in the match are undefined: ${NAME}, its operator and default, or $BARE.
      if (m === '$$') return '$';
      if (bare) return env[bare] ?? '';
      const v = env[name ?? ''];
      if (op === ':-') return v === undefined || v === '' ? (def ?? '') : v;
      if (op === '-') return v === undefined ? (def ?? '') : v;
      return v ?? '';
    },
  );
}

/** What kemu reads of a compose file; the rest (images, volumes, ...) is Docker's. Built by `readDocument`. */
export interface ComposeDocument {
  name?: string;
  networks: Record<string, { ipam?: { config?: { subnet?: string; gateway?: string }[] } }>;
  services: Record<string, ComposeDocumentService>;
}

type DependsOnCondition = ComposeService['dependsOn'][number]['condition'];
const CONDITIONS: readonly string[] = ['service_started', 'service_healthy', 'service_completed_successfully'] satisfies DependsOnCondition[];
const isCondition = (x: string): x is DependsOnCondition => CONDITIONS.includes(x);

export interface ComposeDocumentService {
  command?: string | string[];
  environment?: string[] | Record<string, string>;
  depends_on?: string[] | Record<string, { condition?: DependsOnCondition }>;
  /** A list of network names, or per network its options. */
  networks?: string[] | Record<string, { ipv4_address?: string }>;
  restart?: string;
  healthcheck?: { test?: string | string[] };
  deploy?: { replicas?: number };
  'x-kemu-addresses'?: string;
}

const fail = (where: string, what: string): never => {
  throw new Error(`compose file: ${where} must be ${what}`);
};
/** A mapping (absent or null: empty). */
function mapping(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  return isPlainObject(v) ? v : fail(where, 'a mapping');
}
/** A scalar, as a string (YAML reads `5` and `true` as numbers and booleans). */
function scalar(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : fail(where, 'a string');
}
function scalars(v: unknown, where: string): string[] {
  return Array.isArray(v) ? v.map((x, i) => scalar(x, `${where}[${i}]`) ?? '') : fail(where, 'a list');
}
/** A string or a list of strings (command, healthcheck test). */
function stringOrList(v: unknown, where: string): string | string[] | undefined {
  return Array.isArray(v) ? scalars(v, where) : scalar(v, where);
}
/** A list of names, or a mapping of name to options. */
function listOrMapping<T>(v: unknown, where: string, item: (x: unknown, where: string) => T): string[] | Record<string, T> {
  if (Array.isArray(v)) return scalars(v, where);
  return Object.fromEntries(Object.entries(mapping(v, where)).map(([k, x]) => [k, item(x, `${where}.${k}`)]));
}

function readService(v: unknown, where: string): ComposeDocumentService {
  const s = mapping(v, where);
  const env = s.environment;
  const condition = (c: unknown, w: string): DependsOnCondition | undefined => {
    const x = scalar(mapping(c, w).condition, `${w}.condition`);
    return x === undefined || isCondition(x) ? x : fail(`${w}.condition`, `one of ${CONDITIONS.join(', ')}`);
  };
  const replicas = scalar(mapping(s.deploy, `${where}.deploy`).replicas, `${where}.deploy.replicas`);
  return {
    command: stringOrList(s.command, `${where}.command`),
    // Values as compose passes them: whatever YAML made of them, as a string.
    environment: Array.isArray(env)
      ? scalars(env, `${where}.environment`)
      : Object.fromEntries(Object.entries(mapping(env, `${where}.environment`)).map(([k, x]) => [k, String(x)])),
    depends_on: listOrMapping(s.depends_on, `${where}.depends_on`, (c, w) => ({ condition: condition(c, w) })),
    networks: listOrMapping(s.networks, `${where}.networks`, (n, w) => ({ ipv4_address: scalar(mapping(n, w).ipv4_address, `${w}.ipv4_address`) })),
    restart: scalar(s.restart, `${where}.restart`),
    healthcheck: { test: stringOrList(mapping(s.healthcheck, `${where}.healthcheck`).test, `${where}.healthcheck.test`) },
    deploy: { replicas: replicas === undefined ? undefined : Number(replicas) },
    'x-kemu-addresses': scalar(s['x-kemu-addresses'], `${where}.x-kemu-addresses`),
  };
}

/** The parts of a parsed (and interpolated) compose file that kemu reads, checked: a wrong shape is an error that says where. */
export function readDocument(v: unknown): ComposeDocument {
  const d = mapping(v, 'the document');
  const networks = Object.entries(mapping(d.networks, 'networks')).map(([name, n]) => {
    const ipam = mapping(mapping(n, `networks.${name}`).ipam, `networks.${name}.ipam`);
    const config =
      ipam.config === undefined || ipam.config === null ? [] : Array.isArray(ipam.config) ? ipam.config : fail(`networks.${name}.ipam.config`, 'a list');
    const where = (i: number) => `networks.${name}.ipam.config[${i}]`;
    return [
      name,
      {
        ipam: {
          config: config.map((c, i) => ({
            subnet: scalar(mapping(c, where(i)).subnet, `${where(i)}.subnet`),
            gateway: scalar(mapping(c, where(i)).gateway, `${where(i)}.gateway`),
          })),
        },
      },
    ] as const;
  });
  return {
    name: scalar(d.name, 'name'),
    networks: Object.fromEntries(networks),
    services: Object.fromEntries(Object.entries(mapping(d.services, 'services')).map(([name, s]) => [name, readService(s, `services.${name}`)])),
  };
}

function asList(cmd: string | string[] | undefined): string[] {
  if (Array.isArray(cmd)) return cmd;
  if (typeof cmd === 'string') return cmd.split(/\s+/).filter(Boolean);
  return [];
}

export function parseCompose(text: string, env: Record<string, string | undefined>): ComposeProject {
  // Interpolate every string value after parsing, so values can never change the YAML structure.
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return interpolate(v, env);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const d = readDocument(walk(parse(text, { merge: true })));
  const netName = Object.keys(d.networks)[0];
  const ipam = (netName === undefined ? undefined : d.networks[netName]?.ipam?.config?.[0]) ?? {};
  if (!ipam.subnet) throw new Error('compose file: the network needs ipam.config[0].subnet');
  const services: (ComposeService & { replicas?: number; addressPrefix?: string })[] = Object.entries(d.services).map(([name, s]) => {
    const deps = s.depends_on ?? [];
    const dependsOn = Array.isArray(deps)
      ? deps.map((n) => ({ name: n, condition: 'service_started' as const }))
      : Object.entries(deps).map(([n, c]) => ({ name: n, condition: c.condition ?? 'service_started' }));
    const envList = s.environment ?? {};
    const environment: Record<string, string> = Array.isArray(envList)
      ? Object.fromEntries(envList.map((e) => [e.split('=')[0], e.split('=').slice(1).join('=')]))
      : envList;
    return {
      name,
      command: asList(s.command),
      environment,
      dependsOn,
      address: netName === undefined || Array.isArray(s.networks) ? undefined : s.networks?.[netName]?.ipv4_address,
      oneShot: s.restart === 'no',
      ...(s.restart !== undefined ? { restart: formatRestart(parseRestart(s.restart)) } : {}),
      healthcheck: healthcheck(s.healthcheck?.test),
      replicas: s.deploy?.replicas,
      addressPrefix: s['x-kemu-addresses'],
    };
  });
  const project = env.KEMU_PROJECT ?? d.name ?? 'kemu';
  const expanded = services.flatMap((s) => expandReplicas(s, project)).flatMap(expandProcesses);
  checkAddresses(ipam.subnet, ipam.gateway, expanded);
  // Dependants of a replicated service wait for all its replicas.
  for (const s of expanded)
    s.dependsOn = s.dependsOn.flatMap((d) =>
      expanded.some((x) => x.name === d.name) ? [d] : expanded.filter((x) => x.name.startsWith(`${d.name}-`)).map((x) => ({ ...d, name: x.name })),
    );
  // No gateway given: the subnet's first address, as Docker chooses (checkAddresses has checked the subnet).
  const gateway = ipam.gateway ?? formatIPv4(parseCidr(ipam.subnet).network + 1);
  return { name: d.name ?? 'kemu', subnet: ipam.subnet, gateway, services: expanded };
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
    if (!isIPv4(ip)) throw new Error(`compose file: ${what}: invalid IP address: "${ip as string}"`);
    if (!contains(net, ip)) throw new Error(`compose file: ${what}: ${ip} is not in the network's subnet ${formatCidr(net)}`);
  };
  if (gateway) inside("the network's gateway", gateway);
  const owner = new Map<string, string>();
  for (const s of services) {
    if (!s.address || s.netns) continue; // a second process of a service shares its address
    inside(`service ${s.name}`, s.address);
    const other = owner.get(s.address);
    if (other) throw new Error(`compose file: services ${other} and ${s.name} both have the address ${s.address}`);
    owner.set(s.address, s.name);
  }
}

function healthcheck(test: string | string[] | undefined): string[] | undefined {
  if (typeof test === 'string') return ['sh', '-c', test];
  if (!Array.isArray(test) || test.length < 2) return undefined;
  const [kind, ...rest] = test;
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
