/**
 * Cluster settings: the service and pod ranges, the cluster domain and the
 * cluster DNS (its address, replicas, whether it runs, the pre-1.2 names) — what
 * kubeadm's ClusterConfiguration.networking and its DNS add-on options decide.
 * `kemu up --service-cidr ...` (or KEMU_SERVICE_CIDR ...) → `compileSettings`
 * (defaults, checks, one clear error before anything starts) → the compose
 * file's variables (`settingsEnv`), which carry each value to every component
 * that must know it, and the DNS add-on's manifest (addons.ts). Fixed when a
 * cluster is made: kept in its cluster.json. Pure.
 */
import { containsCidr, dns1123Subdomain, formatCidr, formatIPv4, isCidr, isIPv4, nthAddress, parseCidr, parseIPv4, contains, subnetCount } from '@kemu/api';
import { KemuError } from './errors.js';

export interface ClusterSettings {
  /** The ClusterIP range (kube-apiserver --service-cluster-ip-range). */
  serviceCIDR: string;
  /** The pod network (kube-controller-manager --cluster-cidr); each node gets a /24 of it. */
  podCIDR: string;
  /** The cluster domain (kubelet --cluster-domain, the DNS zone). */
  clusterDomain: string;
  /** The kube-dns Service's address (kubelet --cluster-dns). */
  dnsIP: string;
  /** The coredns Deployment's replicas. */
  dnsReplicas: number;
  /** Whether the DNS add-on is applied; without it pods still get the clusterDNS resolver, as kubelets write it. */
  dns: boolean;
  /** Also answer `<service>.<namespace>.<domain>` (the form before Kubernetes 1.2). */
  dnsLegacyNames: boolean;
  /** A kubeadm-like control-plane Node whose static pods are the control plane's processes (compose's control-plane service). */
  controlPlaneNode: boolean;
  /** etcd's members: 1, or 3 (etcd, etcd-2, etcd-3 of the compose file, one cluster; the api-server knows all three). */
  etcdMembers: number;
}

/** What the user asked for, as given (flags, or the compose variables); absent: the cluster's, else the default. */
export interface SettingsInput {
  serviceCidr?: string;
  podCidr?: string;
  clusterDomain?: string;
  dnsIp?: string;
  dnsReplicas?: string;
  dns?: string;
  dnsLegacyNames?: boolean | string;
  controlPlaneNode?: boolean | string;
  etcdMembers?: string;
}

/** Today's values, kubeadm's: 10.96.0.0/12 (kubernetes at .1, DNS at .10), flannel's 10.244.0.0/16, cluster.local. */
export const DEFAULT_SETTINGS: ClusterSettings = {
  serviceCIDR: '10.96.0.0/12',
  podCIDR: '10.244.0.0/16',
  clusterDomain: 'cluster.local',
  dnsIP: '10.96.0.10',
  dnsReplicas: 2,
  dns: true,
  dnsLegacyNames: false,
  controlPlaneNode: false,
  etcdMembers: 1,
};

/** The compose variable of each setting (compose/docker-compose.yml's defaults are DEFAULT_SETTINGS). */
export const SETTINGS_VARIABLES = {
  serviceCidr: 'KEMU_SERVICE_CIDR',
  podCidr: 'KEMU_POD_CIDR',
  clusterDomain: 'KEMU_CLUSTER_DOMAIN',
  dnsIp: 'KEMU_DNS_IP',
  dnsReplicas: 'KEMU_DNS_REPLICAS',
  dns: 'KEMU_DNS',
  dnsLegacyNames: 'KEMU_DNS_LEGACY_NAMES',
  controlPlaneNode: 'KEMU_CONTROL_PLANE_NODE',
  etcdMembers: 'KEMU_ETCD_MEMBERS',
} as const satisfies Record<keyof SettingsInput, string>;

/** The flag of each setting, for the errors. */
const FLAGS: Record<keyof SettingsInput, string> = {
  serviceCidr: '--service-cidr',
  podCidr: '--pod-cidr',
  clusterDomain: '--cluster-domain',
  dnsIp: '--dns-ip',
  dnsReplicas: '--dns-replicas',
  dns: '--dns',
  dnsLegacyNames: '--dns-legacy-names',
  controlPlaneNode: '--control-plane-node',
  etcdMembers: '--etcd-members',
};

/** The settings the environment gives (KEMU_SERVICE_CIDR, ...); empty variables count as absent. */
export function settingsFromEnv(env: Record<string, string | undefined>): SettingsInput {
  const out: SettingsInput = {};
  for (const [k, v] of Object.entries(SETTINGS_VARIABLES) as [keyof SettingsInput, string][]) {
    const val = env[v];
    if (val !== undefined && val !== '') out[k] = val;
  }
  return out;
}

/**
 * Address blocks no cluster range may take: the host's own (loopback, link-local, multicast and up, "this
 * network"), where a Service or pod address would never be routed as one.
 */
const SPECIAL: { cidr: string; what: string }[] = [
  { cidr: '0.0.0.0/8', what: '"this network"' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local' },
  { cidr: '224.0.0.0/3', what: 'multicast and reserved' },
];

const overlaps = (a: string, b: string) => containsCidr(a, b) || containsCidr(b, a);
const fail = (key: keyof SettingsInput, what: string): never => {
  throw new KemuError(`${FLAGS[key]}: ${what}`);
};

function cidrOf(key: keyof SettingsInput, v: string): string {
  if (!isCidr(v) || !/^[0-9.]+\/[0-9]+$/.test(v)) fail(key, `"${v}" is not an IPv4 CIDR (like 10.96.0.0/12)`);
  const canon = formatCidr(v);
  if (canon !== v) fail(key, `"${v}" has host bits set: the range is ${canon}`);
  return canon;
}

function boolOf(key: keyof SettingsInput, v: boolean | string): boolean {
  if (typeof v === 'boolean') return v;
  if (['true', 'on', '1', 'yes'].includes(v)) return true;
  if (['false', 'off', '0', 'no'].includes(v)) return false;
  return fail(key, `"${v}" is not on or off`);
}

/**
 * The settings of a cluster: what is given, else what it was made with (`recorded`), else the defaults; the DNS
 * address defaults to the 10th of the service range, as kubeadm's. Throws a KemuError naming the flag for a bad
 * value, an inconsistency (the DNS address outside the service range, ranges that overlap each other or the node
 * network `nodeNetwork`, a pod range with fewer /24s than `nodes`), or a change to a cluster made with other
 * settings (they are fixed when it is made, as in Kubernetes, where changing them means a new cluster).
 */
export function compileSettings(given: SettingsInput, o: { nodeNetwork: string; nodes: number; recorded?: ClusterSettings }): ClusterSettings {
  // A cluster recorded before a setting existed has that setting's default.
  const recorded = o.recorded && { ...DEFAULT_SETTINGS, ...o.recorded };
  const base = recorded ?? DEFAULT_SETTINGS;
  const serviceCIDR = given.serviceCidr !== undefined ? cidrOf('serviceCidr', given.serviceCidr) : base.serviceCIDR;
  const podCIDR = given.podCidr !== undefined ? cidrOf('podCidr', given.podCidr) : base.podCIDR;
  const svcPrefix = parseCidr(serviceCIDR).prefix;
  // kube-apiserver's own limit (a bigger range is refused at its start); .1 and the DNS address need a few more.
  if (svcPrefix < 12) fail('serviceCidr', `${serviceCIDR} is too large: for IPv4 the mask must be /12 or longer (as kube-apiserver requires)`);
  if (svcPrefix > 28) fail('serviceCidr', `${serviceCIDR} is too small: a service range needs at least 16 addresses (a /28)`);
  const podPrefix = parseCidr(podCIDR).prefix;
  if (podPrefix > 24) fail('podCidr', `${podCIDR} is too small: every node gets a /24 of it`);
  if (podPrefix < 8) fail('podCidr', `${podCIDR} is too large: a /8 or smaller`);
  if (subnetCount(podCIDR, 24) < o.nodes) fail('podCidr', `${podCIDR} holds ${subnetCount(podCIDR, 24)} node ranges (/24), not ${o.nodes}`);

  const ranges = [
    { key: 'serviceCidr' as const, name: 'the service range', cidr: serviceCIDR },
    { key: 'podCidr' as const, name: 'the pod range', cidr: podCIDR },
  ];
  for (const r of ranges) {
    for (const s of SPECIAL) if (overlaps(r.cidr, s.cidr)) fail(r.key, `${r.cidr} overlaps the ${s.what} addresses ${s.cidr}`);
    if (overlaps(r.cidr, o.nodeNetwork)) fail(r.key, `${r.cidr} overlaps the node network ${o.nodeNetwork} (--subnet)`);
  }
  if (overlaps(serviceCIDR, podCIDR)) fail('serviceCidr', `${serviceCIDR} overlaps the pod range ${podCIDR}`);

  let clusterDomain = base.clusterDomain;
  if (given.clusterDomain !== undefined) {
    clusterDomain = given.clusterDomain.toLowerCase().replace(/\.$/, '');
    const errs = dns1123Subdomain(clusterDomain);
    if (errs.length) fail('clusterDomain', `"${given.clusterDomain}" is not a DNS domain: ${errs[0]}`);
  }

  // The DNS address follows a new service range unless given: the 10th address, as kubeadm's default.
  const serviceChanged = serviceCIDR !== base.serviceCIDR;
  const dnsIP = given.dnsIp ?? (serviceChanged ? formatIPv4(nthAddress(serviceCIDR, 10)) : base.dnsIP);
  if (!isIPv4(dnsIP) || !/^[0-9.]+$/.test(dnsIP)) fail('dnsIp', `"${dnsIP}" is not an IPv4 address`);
  if (!contains(serviceCIDR, dnsIP)) fail('dnsIp', `${dnsIP} is not in the service range ${serviceCIDR}`);
  const n = parseIPv4(dnsIP);
  const cidr = parseCidr(serviceCIDR);
  if (n === cidr.network || n === nthAddress(cidr, -1)) fail('dnsIp', `${dnsIP} is the network or broadcast address of ${serviceCIDR}`);
  if (n === nthAddress(cidr, 1)) fail('dnsIp', `${dnsIP} is the kubernetes Service's address (the first of ${serviceCIDR})`);

  let dnsReplicas = base.dnsReplicas;
  if (given.dnsReplicas !== undefined) {
    if (!/^[0-9]+$/.test(given.dnsReplicas)) fail('dnsReplicas', `"${given.dnsReplicas}" is not a whole number`);
    dnsReplicas = Number(given.dnsReplicas);
    if (dnsReplicas < 1) fail('dnsReplicas', 'at least 1 (--dns off runs no cluster DNS)');
  }
  const dns = given.dns !== undefined ? boolOf('dns', given.dns) : base.dns;
  const dnsLegacyNames = given.dnsLegacyNames !== undefined ? boolOf('dnsLegacyNames', given.dnsLegacyNames) : base.dnsLegacyNames;
  if (!dns && dnsLegacyNames) fail('dnsLegacyNames', 'names are answered by the cluster DNS, which --dns off does not run');

  const controlPlaneNode = given.controlPlaneNode !== undefined ? boolOf('controlPlaneNode', given.controlPlaneNode) : base.controlPlaneNode;

  let etcdMembers = base.etcdMembers;
  if (given.etcdMembers !== undefined) {
    if (!['1', '3'].includes(given.etcdMembers)) fail('etcdMembers', `"${given.etcdMembers}" is not 1 or 3 (the compose file has etcd, etcd-2 and etcd-3)`);
    etcdMembers = Number(given.etcdMembers);
  }

  const s: ClusterSettings = { serviceCIDR, podCIDR, clusterDomain, dnsIP, dnsReplicas, dns, dnsLegacyNames, controlPlaneNode, etcdMembers };
  if (recorded) {
    const changed = (Object.keys(s) as (keyof ClusterSettings)[]).filter((k) => s[k] !== recorded[k]);
    if (changed.length)
      throw new KemuError(
        `the cluster was made with ${changed.map((k) => `${k} ${String(recorded[k])}`).join(', ')}: its settings are fixed when it is made (kemu down, then up with the new ones)`,
      );
  }
  return s;
}

/** etcd's members' addresses on the cluster network `subnet` (a.b): etcd, etcd-2, etcd-3. */
export const ETCD_MEMBER_HOSTS = ['0.2', '0.11', '0.12'];

/**
 * The compose file's variables for the settings (what `kemu up` sets; the file's defaults are DEFAULT_SETTINGS). With
 * 3 etcd members, the peer URLs on the cluster network `subnet` (a.b): one member alone keeps its peer port on
 * loopback, as before.
 */
export function settingsEnv(s: ClusterSettings, subnet: string): Record<string, string> {
  const members = ETCD_MEMBER_HOSTS.slice(0, s.etcdMembers ?? 1).map((h, i) => ({ name: i ? `etcd-${i + 1}` : 'etcd', ip: `${subnet}.${h}` }));
  const etcd: Record<string, string> =
    members.length > 1
      ? {
          KEMU_ETCD_EXTRA_MEMBERS: '1',
          KEMU_ETCD_PEER_LISTEN: 'https://0.0.0.0:2380',
          KEMU_ETCD_PEER_URL: `https://${members[0].ip}:2380`,
          KEMU_ETCD_MORE_PEERS: members
            .slice(1)
            .map((m) => `,${m.name}=https://${m.ip}:2380`)
            .join(''),
          KEMU_ETCD_MORE_SERVERS: members
            .slice(1)
            .map((m) => `,https://${m.ip}:2379`)
            .join(''),
        }
      : { KEMU_ETCD_EXTRA_MEMBERS: '0' };
  return {
    ...etcd,
    [SETTINGS_VARIABLES.serviceCidr]: s.serviceCIDR,
    [SETTINGS_VARIABLES.podCidr]: s.podCIDR,
    [SETTINGS_VARIABLES.clusterDomain]: s.clusterDomain,
    [SETTINGS_VARIABLES.dnsIp]: s.dnsIP,
    [SETTINGS_VARIABLES.dnsReplicas]: String(s.dnsReplicas),
    [SETTINGS_VARIABLES.dns]: s.dns ? 'on' : 'off',
    [SETTINGS_VARIABLES.dnsLegacyNames]: s.dnsLegacyNames ? 'on' : 'off',
    // The control-plane service's replicas in the compose file: 1 or 0.
    [SETTINGS_VARIABLES.controlPlaneNode]: s.controlPlaneNode ? '1' : '0',
  };
}

/** The `kubernetes` Service's ClusterIP: the first address of the service range, as kube-apiserver gives it. */
export function kubernetesServiceIP(s: Pick<ClusterSettings, 'serviceCIDR'>): string {
  return formatIPv4(nthAddress(s.serviceCIDR, 1));
}

/** One line for `kemu status`. */
export function describeSettings(s: ClusterSettings): string {
  const dns = s.dns
    ? `DNS ${s.dnsIP} (${s.dnsReplicas} ${s.dnsReplicas === 1 ? 'replica' : 'replicas'}${s.dnsLegacyNames ? ', pre-1.2 names answered' : ''})`
    : `no cluster DNS (pods' resolver: ${s.dnsIP})`;
  return `services ${s.serviceCIDR} (kubernetes ${kubernetesServiceIP(s)}), pods ${s.podCIDR}, domain ${s.clusterDomain}, ${dns}${s.controlPlaneNode ? ', a control-plane node' : ''}${(s.etcdMembers ?? 1) > 1 ? `, etcd of ${s.etcdMembers} members` : ''}`;
}
