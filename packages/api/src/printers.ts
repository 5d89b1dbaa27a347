/**
 * Server-side printing: the columns `kubectl get` shows for each resource
 * (meta.k8s.io Table), with Kubernetes' column names, types and cell values
 * (pkg/printers/internalversion/printers.go). The api-server always prints
 * wide: kubectl hides the priority-1 columns itself. Pure: rows are computed
 * from the object and the current time.
 */
import type { Deployment, DaemonSet, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type {
  ConfigMap,
  Container,
  Endpoints,
  Event,
  LoadBalancerStatus,
  Namespace,
  Node,
  Pod,
  ReplicationController,
  ResourceQuota,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Ingress, IngressClass, IngressLoadBalancerStatus, IngressRule, NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { humanDuration } from './duration.js';
import { readinessGatesText, restartsText, summarizePod } from './pod-printer.js';
import { formatTime, parseTime } from './time.js';
import type { KubeObject } from './types.js';

export { humanDuration } from './duration.js';
export { podStatusText } from './pod-printer.js';

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number | boolean;
/** name, priority (1: only with -o wide), type (default string). */
type Column = [string, number, ('integer' | 'date')?];

interface Printer {
  columns: Column[];
  row: (o: KubeObject, now: number) => Cell[];
}

/**
 * A printer for one kind; the object is read as that kind's Kubernetes type.
 * A column given by its name alone is a string shown without -o wide.
 */
function printer<T>(columns: (string | Column)[], row: (o: T, now: number) => Cell[]): Printer {
  return { columns: columns.map((c): Column => (typeof c === 'string' ? [c, 0] : c)), row: (o, now) => row(o as unknown as T, now) };
}

/** translateTimestampSince: `<unknown>` for no time at all. */
function age(ts: string | undefined, now: number): string {
  const t = parseTime(ts);
  return t === undefined ? '<unknown>' : humanDuration(now - t);
}

const count = (m: object | undefined): number => (m ? Object.keys(m).length : 0);

/** labels.FormatLabels: `a=b,c=d`, keys sorted; `<none>` when empty. */
function formatLabels(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${m![k]}`).join(',') : '<none>';
}

/** A LabelSelector as its Selector's String(): requirements sorted by key, `in`/`notin` values sorted. */
function selectorString(sel: LabelSelector | undefined): string {
  if (!sel) return '';
  const reqs: [string, string][] = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => [k, `${k}=${v}`]);
  for (const e of sel.matchExpressions ?? []) {
    const values = [...new Set(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') reqs.push([e.key, `${e.key} in (${values})`]);
    else if (e.operator === 'NotIn') reqs.push([e.key, `${e.key} notin (${values})`]);
    else if (e.operator === 'Exists') reqs.push([e.key, e.key]);
    else if (e.operator === 'DoesNotExist') reqs.push([e.key, `!${e.key}`]);
  }
  return reqs
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, text]) => text)
    .join(',');
}

/** metav1.FormatLabelSelector: the selector's text, or `<none>`. */
const formatLabelSelector = (sel: LabelSelector | undefined): string => selectorString(sel) || '<none>';

/** layoutContainerCells: names and images, comma-separated. */
function containerCells(containers: Container[] | undefined): [string, string] {
  const cs = containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(',')];
}

/** `a,b,c + 2 more...`: the first three of a list and how many were left out. */
function firstThree(list: string[], total: number, none: string): string {
  if (total > 3) return `${list.slice(0, 3).join(',')} + ${total - 3} more...`;
  return list.length ? list.join(',') : none;
}

function podRow(pod: Pod, now: number): Cell[] {
  const s = summarizePod(pod);
  return [
    pod.metadata?.name ?? '',
    `${s.ready}/${s.total}`,
    s.status,
    restartsText(s, now),
    age(pod.metadata?.creationTimestamp, now),
    pod.status?.podIPs?.[0]?.ip || pod.status?.podIP || '<none>',
    pod.spec?.nodeName || '<none>',
    pod.status?.nominatedNodeName || '<none>',
    readinessGatesText(pod),
  ];
}

/** The load balancer's addresses, each once, sorted (a string set's List()). */
function loadBalancerText(s: LoadBalancerStatus | IngressLoadBalancerStatus | undefined): string {
  const set = new Set((s?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter(Boolean));
  return [...set].sort().join(',');
}

function serviceExternalIP(svc: Service): string {
  const spec = svc.spec ?? {};
  const external = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerText(svc.status?.loadBalancer);
      if (external.length) return [...(lb ? lb.split(',') : []), ...external].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function servicePorts(svc: Service): string {
  const ports = svc.spec?.ports ?? [];
  return ports.length ? ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') : '<none>';
}

/** formatEndpoints: address:port for every port of every subset, the first three shown. */
function endpointsText(ep: Endpoints): string {
  if (!ep.subsets?.length) return '<none>';
  const list: string[] = [];
  let total = 0;
  const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  for (const ss of ep.subsets) {
    const addrs = ss.addresses ?? [];
    if (!ss.ports?.length) {
      total += addrs.length;
      list.push(...addrs.map((a) => a.ip));
      continue;
    }
    for (const p of ss.ports) {
      total += addrs.length;
      list.push(...addrs.map((a) => hostPort(a.ip, p.port)));
    }
  }
  // A subset with only not-ready addresses prints as nothing, not <none>.
  return firstThree(list, total, '');
}

function nodeStatus(node: Node): string {
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

/** node-role.kubernetes.io/<role> labels and the legacy kubernetes.io/role=<role>, each once, sorted. */
function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

const nodeAddress = (node: Node, type: string): string => (node.status?.addresses ?? []).find((a) => a.type === type)?.address ?? '<none>';

function eventRow(ev: Event, now: number): Cell[] {
  const first = ev.firstTimestamp ? age(ev.firstTimestamp, now) : age(ev.eventTime, now);
  let last = ev.lastTimestamp ? age(ev.lastTimestamp, now) : first;
  let n = ev.count ?? 0;
  if (ev.series) {
    last = age(ev.series.lastObservedTime, now);
    n = ev.series.count ?? 0;
  } else if (!n) n = 1; // singleton events of the new API carry no count
  const io = ev.involvedObject;
  const kind = (io.kind ?? '').toLowerCase();
  const component = ev.source?.component || ev.reportingComponent || '';
  const instance = ev.source?.host || ev.reportingInstance || '';
  return [
    last,
    ev.type ?? '',
    ev.reason ?? '',
    io.name ? `${kind}/${io.name}` : kind,
    io.fieldPath ?? '',
    instance ? `${component}, ${instance}` : component,
    (ev.message ?? '').trim(),
    first,
    n,
    ev.metadata.name ?? '',
  ];
}

function quotaRow(q: ResourceQuota, now: number): Cell[] {
  const hard = q.status?.hard ?? {};
  const used = q.status?.used ?? {};
  const req: string[] = [];
  const lim: string[] = [];
  for (const k of Object.keys(hard).sort()) (k.split('.')[0] === 'limits' && k.includes('.') ? lim : req).push(`${k}: ${used[k] ?? '0'}/${hard[k]}`);
  return [q.metadata?.name ?? '', req.join(', '), lim.join(', '), age(q.metadata?.creationTimestamp, now)];
}

/** formatHosts: the first three rules' hosts, `*` when none has one. */
function ingressHosts(rules: IngressRule[] | undefined): string {
  const rs = rules ?? [];
  const hosts = rs
    .slice(0, 3)
    .map((r) => r.host ?? '')
    .filter(Boolean);
  if (!hosts.length) return '*';
  return rs.length > 3 ? `${hosts.join(',')} + ${rs.length - 3} more...` : hosts.join(',');
}

function endpointSliceRow(s: EndpointSlice, now: number): Cell[] {
  const ports = (s.ports ?? []).map((p) => (p.port !== undefined ? String(p.port) : (p.name ?? '*')));
  const addrs = (s.endpoints ?? []).flatMap((e) => e.addresses);
  return [
    s.metadata?.name ?? '',
    s.addressType,
    firstThree(ports, ports.length, '<unset>'),
    firstThree(addrs, addrs.length, '<unset>'),
    age(s.metadata?.creationTimestamp, now),
  ];
}

const name = (o: { metadata?: { name?: string } }): string => o.metadata?.name ?? '';
const created = (o: { metadata?: { creationTimestamp?: string } }, now: number): string => age(o.metadata?.creationTimestamp, now);
const WORKLOAD_WIDE: Column[] = [
  ['Containers', 1],
  ['Images', 1],
  ['Selector', 1],
];

/**
 * printReplicaSet and printReplicationController: the same columns and cells;
 * only the selector is written differently (a LabelSelector, a plain map).
 */
function replicaPrinter<T extends ReplicaSet | ReplicationController>(selector: (o: T) => string): Printer {
  return printer<T>(['Name', ['Desired', 0, 'integer'], ['Current', 0, 'integer'], ['Ready', 0, 'integer'], 'Age', ...WORKLOAD_WIDE], (o, now) => [
    name(o),
    o.spec?.replicas ?? 0,
    o.status?.replicas ?? 0,
    o.status?.readyReplicas ?? 0,
    created(o, now),
    ...containerCells(o.spec?.template?.spec?.containers),
    selector(o),
  ]);
}

/** What a resource without a printer shows (the api-server's default table convertor). */
const DEFAULT = printer<KubeObject>(['Name', ['Created At', 0, 'date']], (o) => {
  const t = parseTime(o.metadata.creationTimestamp);
  return [o.metadata.name ?? '', t === undefined ? '' : formatTime(t)];
});

const PRINTERS: Record<string, Printer> = {
  pods: printer<Pod>(['Name', 'Ready', 'Status', 'Restarts', 'Age', ['IP', 1], ['Node', 1], ['Nominated Node', 1], ['Readiness Gates', 1]], podRow),
  services: printer<Service>(['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', ['Selector', 1]], (o, now) => [
    name(o),
    o.spec?.type ?? 'ClusterIP',
    o.spec?.clusterIPs?.[0] || o.spec?.clusterIP || '<none>',
    serviceExternalIP(o),
    servicePorts(o),
    created(o, now),
    formatLabels(o.spec?.selector),
  ]),
  endpoints: printer<Endpoints>(['Name', 'Endpoints', 'Age'], (o, now) => [name(o), endpointsText(o), created(o, now)]),
  nodes: printer<Node>(
    ['Name', 'Status', 'Roles', 'Age', 'Version', ['Internal-IP', 1], ['External-IP', 1], ['OS-Image', 1], ['Kernel-Version', 1], ['Container-Runtime', 1]],
    (o, now) => {
      const ni = o.status?.nodeInfo;
      return [
        name(o),
        nodeStatus(o),
        nodeRoles(o),
        created(o, now),
        ni?.kubeletVersion ?? '',
        nodeAddress(o, 'InternalIP'),
        nodeAddress(o, 'ExternalIP'),
        ni?.osImage || '<unknown>',
        ni?.kernelVersion || '<unknown>',
        ni?.containerRuntimeVersion || '<unknown>',
      ];
    },
  ),
  namespaces: printer<Namespace>(['Name', 'Status', 'Age'], (o, now) => [name(o), o.status?.phase ?? '', created(o, now)]),
  deployments: printer<Deployment>(['Name', 'Ready', 'Up-to-date', 'Available', 'Age', ...WORKLOAD_WIDE], (o, now) => [
    name(o),
    `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
    o.status?.updatedReplicas ?? 0,
    o.status?.availableReplicas ?? 0,
    created(o, now),
    ...containerCells(o.spec?.template.spec?.containers),
    selectorString(o.spec?.selector),
  ]),
  replicasets: replicaPrinter<ReplicaSet>((o) => formatLabelSelector(o.spec?.selector)),
  replicationcontrollers: replicaPrinter<ReplicationController>((o) => formatLabels(o.spec?.selector)),
  daemonsets: printer<DaemonSet>(
    [
      'Name',
      ['Desired', 0, 'integer'],
      ['Current', 0, 'integer'],
      ['Ready', 0, 'integer'],
      ['Up-to-date', 0, 'integer'],
      ['Available', 0, 'integer'],
      'Node Selector',
      'Age',
      ...WORKLOAD_WIDE,
    ],
    (o, now) => {
      const s = o.status;
      return [
        name(o),
        s?.desiredNumberScheduled ?? 0,
        s?.currentNumberScheduled ?? 0,
        s?.numberReady ?? 0,
        s?.updatedNumberScheduled ?? 0,
        s?.numberAvailable ?? 0,
        formatLabels(o.spec?.template.spec?.nodeSelector),
        created(o, now),
        ...containerCells(o.spec?.template.spec?.containers),
        formatLabelSelector(o.spec?.selector),
      ];
    },
  ),
  configmaps: printer<ConfigMap>(['Name', 'Data', 'Age'], (o, now) => [name(o), count(o.data) + count(o.binaryData), created(o, now)]),
  secrets: printer<Secret>(['Name', 'Type', 'Data', 'Age'], (o, now) => [name(o), o.type ?? '', count(o.data), created(o, now)]),
  serviceaccounts: printer<ServiceAccount>(['Name', 'Secrets', 'Age'], (o, now) => [name(o), (o.secrets ?? []).length, created(o, now)]),
  events: printer<Event>(
    ['Last Seen', 'Type', 'Reason', 'Object', ['Subobject', 1], ['Source', 1], 'Message', ['First Seen', 1], ['Count', 1], ['Name', 1]],
    eventRow,
  ),
  resourcequotas: printer<ResourceQuota>(['Name', 'Request', 'Limit', 'Age'], quotaRow),
  limitranges: DEFAULT,
  endpointslices: printer<EndpointSlice>(['Name', 'AddressType', 'Ports', 'Endpoints', 'Age'], endpointSliceRow),
  ingresses: printer<Ingress>(['Name', 'Class', 'Hosts', 'Address', 'Ports', 'Age'], (o, now) => [
    name(o),
    o.spec?.ingressClassName ?? '<none>',
    ingressHosts(o.spec?.rules),
    loadBalancerText(o.status?.loadBalancer),
    o.spec?.tls?.length ? '80, 443' : '80',
    created(o, now),
  ]),
  ingressclasses: printer<IngressClass>(['Name', 'Controller', 'Parameters', 'Age'], (o, now) => {
    const p = o.spec?.parameters;
    return [name(o), o.spec?.controller ?? '', p ? `${p.kind}${p.apiGroup ? `.${p.apiGroup}` : ''}/${p.name}` : '<none>', created(o, now)];
  }),
  networkpolicies: printer<NetworkPolicy>(['Name', 'Pod-Selector', 'Age'], (o, now) => [name(o), formatLabelSelector(o.spec?.podSelector), created(o, now)]),
  leases: printer<Lease>(['Name', 'Holder', 'Age'], (o, now) => [name(o), o.spec?.holderIdentity ?? '', created(o, now)]),
  certificatesigningrequests: printer<CertificateSigningRequest>(['Name', 'Age', 'SignerName', 'Requestor', 'RequestedDuration', 'Condition'], (o, now) => [
    name(o),
    created(o, now),
    o.spec.signerName,
    o.spec.username ?? '',
    o.spec.expirationSeconds ? humanDuration(o.spec.expirationSeconds * 1000) : '<none>',
    csrCondition(o),
  ]),
};

/** printCertificateSigningRequest's condition: Pending, Approved or Denied, then Failed and Issued. */
function csrCondition(o: CertificateSigningRequest): string {
  const types = new Set((o.status?.conditions ?? []).map((c) => c.type));
  let s = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) s += ',Failed';
  if (o.status?.certificate) s += ',Issued';
  return s;
}

const DESCRIPTIONS: Record<string, string> = {
  Name: 'Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  Age: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  'Created At': 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

/** The Table column definitions for a stored resource. */
export function tableColumns(storage: string): ColumnDefinition[] {
  const p = PRINTERS[storage] ?? DEFAULT;
  return p.columns.map(([col, priority, type]) => ({
    name: col,
    type: type ?? 'string',
    format: col === 'Name' ? 'name' : '',
    description: DESCRIPTIONS[col] ?? '',
    priority,
  }));
}

/** The Table cells for one object. */
export function tableRow(storage: string, obj: KubeObject, now = Date.now()): Cell[] {
  return (PRINTERS[storage] ?? DEFAULT).row(obj, now);
}
