/**
 * Server-side printing: the columns `kubectl get` shows for each resource
 * (meta.k8s.io Table), with Kubernetes' column names and cell values. Pure:
 * rows are computed from the object and the current time.
 */
import type { KubeObject } from './types.js';

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Cell = string | number | boolean;

interface Printer {
  columns: [string, number, string?][]; // name, priority, type
  row: (o: Obj, now: number) => Cell[];
}

/** kubectl's HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

function age(ts: string | undefined, now: number): string {
  if (!ts) return '<unknown>';
  return humanDuration(now - Date.parse(ts));
}

const count = (m: unknown) => (m && typeof m === 'object' ? Object.keys(m).length : 0);
const joinOrNone = (xs: string[]) => (xs.length ? xs.join(',') : '<none>');

function selectorText(sel: Obj | undefined): string {
  if (!sel) return '<none>';
  if (sel.matchLabels || sel.matchExpressions) {
    const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const e of sel.matchExpressions ?? []) {
      if (e.operator === 'In' || e.operator === 'NotIn') parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
      else if (e.operator === 'Exists') parts.push(e.key);
      else parts.push(`!${e.key}`);
    }
    return joinOrNone(parts);
  }
  return joinOrNone(Object.entries(sel).map(([k, v]) => `${k}=${v}`));
}

const containers = (spec: Obj | undefined) => (spec?.template?.spec?.containers ?? []) as Obj[];
const wideWorkload = (o: Obj, sel: Obj | undefined): Cell[] => [
  containers(o.spec).map((c) => c.name).join(','),
  containers(o.spec).map((c) => c.image).join(','),
  selectorText(sel),
];

/** kubectl's pod STATUS column. */
export function podStatusText(pod: Obj): string {
  const st = pod.status ?? {};
  let reason: string = st.reason ?? st.phase ?? 'Unknown';
  let initializing = false;
  const inits: Obj[] = st.initContainerStatuses ?? [];
  const initSpecs: Obj[] = pod.spec?.initContainers ?? [];
  inits.forEach((c, i) => {
    if (initializing) return;
    const term = c.state?.terminated;
    const wait = c.state?.waiting;
    if (term && term.exitCode === 0) return;
    if (c.started && initSpecs[i]?.restartPolicy === 'Always') return;
    initializing = true;
    if (term) reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    else if (wait?.reason && wait.reason !== 'PodInitializing') reason = `Init:${wait.reason}`;
    else reason = `Init:${i}/${initSpecs.length}`;
  });
  if (!initializing) {
    let hasRunning = false;
    const cs: Obj[] = [...(st.containerStatuses ?? [])].reverse();
    for (const c of cs) {
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = (st.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function podRow(o: Obj, now: number): Cell[] {
  const specCount = (o.spec?.containers ?? []).length;
  const cs: Obj[] = o.status?.containerStatuses ?? [];
  const ready = cs.filter((c) => c.ready).length;
  let restarts = 0;
  let lastRestart = 0;
  for (const c of cs) {
    restarts += c.restartCount ?? 0;
    const t = c.lastState?.terminated?.finishedAt;
    if (t) lastRestart = Math.max(lastRestart, Date.parse(t));
  }
  const restartText = restarts && lastRestart ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts);
  return [
    o.metadata.name,
    `${ready}/${specCount}`,
    podStatusText(o),
    restartText,
    age(o.metadata.creationTimestamp, now),
    o.status?.podIP ?? '<none>',
    o.spec?.nodeName ?? '<none>',
    o.status?.nominatedNodeName ?? '<none>',
    o.spec?.readinessGates ? `${o.spec.readinessGates.length}` : '<none>',
  ];
}

function servicePorts(spec: Obj): string {
  const ports: Obj[] = spec.ports ?? [];
  if (!ports.length) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function externalIP(o: Obj): string {
  const spec = o.spec ?? {};
  switch (spec.type) {
    case 'ExternalName':
      return spec.externalName ?? '<none>';
    case 'LoadBalancer': {
      const ing: Obj[] = o.status?.loadBalancer?.ingress ?? [];
      const ips = [...ing.map((i) => i.ip ?? i.hostname), ...(spec.externalIPs ?? [])];
      return ips.length ? ips.join(',') : '<pending>';
    }
    default:
      return spec.externalIPs?.length ? spec.externalIPs.join(',') : '<none>';
  }
}

function endpointsText(o: Obj): string {
  const list: string[] = [];
  let total = 0;
  for (const s of o.subsets ?? []) {
    const ports: Obj[] = s.ports?.length ? s.ports : [{}];
    for (const a of s.addresses ?? []) {
      for (const p of ports) {
        total++;
        if (list.length < 3) list.push(p.port ? `${a.ip}:${p.port}` : a.ip);
      }
    }
  }
  if (!total) return '<none>';
  return total > 3 ? `${list.join(',')} + ${total - 3} more...` : list.join(',');
}

function nodeStatus(o: Obj): string {
  const ready = (o.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
  const parts = [ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown'];
  if (o.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(o: Obj): string {
  const roles = Object.keys(o.metadata?.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean);
  const legacy = o.metadata?.labels?.['kubernetes.io/role'];
  if (legacy) roles.push(legacy);
  return roles.length ? roles.sort().join(',') : '<none>';
}

const nodeAddr = (o: Obj, type: string) => (o.status?.addresses ?? []).find((a: Obj) => a.type === type)?.address ?? '<none>';

function eventObject(o: Obj): string {
  const io = o.involvedObject ?? {};
  return `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`;
}

const PRINTERS: Record<string, Printer> = {
  pods: {
    columns: [['Name', 0], ['Ready', 0], ['Status', 0], ['Restarts', 0], ['Age', 0], ['IP', 1], ['Node', 1], ['Nominated Node', 1], ['Readiness Gates', 1]],
    row: podRow,
  },
  services: {
    columns: [['Name', 0], ['Type', 0], ['Cluster-IP', 0], ['External-IP', 0], ['Port(s)', 0], ['Age', 0], ['Selector', 1]],
    row: (o, now) => [o.metadata.name, o.spec?.type ?? 'ClusterIP', o.spec?.clusterIP || '<none>', externalIP(o), servicePorts(o.spec ?? {}), age(o.metadata.creationTimestamp, now), selectorText(o.spec?.selector)],
  },
  endpoints: {
    columns: [['Name', 0], ['Endpoints', 0], ['Age', 0]],
    row: (o, now) => [o.metadata.name, endpointsText(o), age(o.metadata.creationTimestamp, now)],
  },
  nodes: {
    columns: [['Name', 0], ['Status', 0], ['Roles', 0], ['Age', 0], ['Version', 0], ['Internal-IP', 1], ['External-IP', 1], ['OS-Image', 1], ['Kernel-Version', 1], ['Container-Runtime', 1]],
    row: (o, now) => {
      const ni = o.status?.nodeInfo ?? {};
      return [o.metadata.name, nodeStatus(o), nodeRoles(o), age(o.metadata.creationTimestamp, now), ni.kubeletVersion ?? '', nodeAddr(o, 'InternalIP'), nodeAddr(o, 'ExternalIP'), ni.osImage ?? '<unknown>', ni.kernelVersion ?? '<unknown>', ni.containerRuntimeVersion ?? '<unknown>'];
    },
  },
  namespaces: {
    columns: [['Name', 0], ['Status', 0], ['Age', 0]],
    row: (o, now) => [o.metadata.name, o.status?.phase ?? 'Active', age(o.metadata.creationTimestamp, now)],
  },
  deployments: {
    columns: [['Name', 0], ['Ready', 0], ['Up-to-date', 0], ['Available', 0], ['Age', 0], ['Containers', 1], ['Images', 1], ['Selector', 1]],
    row: (o, now) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0, age(o.metadata.creationTimestamp, now), ...wideWorkload(o, o.spec?.selector)],
  },
  replicasets: {
    columns: [['Name', 0], ['Desired', 0], ['Current', 0], ['Ready', 0], ['Age', 0], ['Containers', 1], ['Images', 1], ['Selector', 1]],
    row: (o, now) => [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o.metadata.creationTimestamp, now), ...wideWorkload(o, o.spec?.selector)],
  },
  daemonsets: {
    columns: [['Name', 0], ['Desired', 0], ['Current', 0], ['Ready', 0], ['Up-to-date', 0], ['Available', 0], ['Node Selector', 0], ['Age', 0], ['Containers', 1], ['Images', 1], ['Selector', 1]],
    row: (o, now) => {
      const s = o.status ?? {};
      return [o.metadata.name, s.desiredNumberScheduled ?? 0, s.currentNumberScheduled ?? 0, s.numberReady ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0, selectorText(o.spec?.template?.spec?.nodeSelector), age(o.metadata.creationTimestamp, now), ...wideWorkload(o, o.spec?.selector)];
    },
  },
  configmaps: {
    columns: [['Name', 0], ['Data', 0], ['Age', 0]],
    row: (o, now) => [o.metadata.name, count(o.data) + count(o.binaryData), age(o.metadata.creationTimestamp, now)],
  },
  secrets: {
    columns: [['Name', 0], ['Type', 0], ['Data', 0], ['Age', 0]],
    row: (o, now) => [o.metadata.name, o.type ?? 'Opaque', count(o.data), age(o.metadata.creationTimestamp, now)],
  },
  serviceaccounts: {
    columns: [['Name', 0], ['Secrets', 0], ['Age', 0]],
    row: (o, now) => [o.metadata.name, (o.secrets ?? []).length, age(o.metadata.creationTimestamp, now)],
  },
  events: {
    columns: [['Last Seen', 0], ['Type', 0], ['Reason', 0], ['Object', 0], ['Subobject', 1], ['Source', 1], ['Message', 0], ['First Seen', 1], ['Count', 1], ['Name', 1]],
    row: (o, now) => {
      const last = o.series?.lastObservedTime ?? o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      const first = o.firstTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      const src = o.source?.component ? `${o.source.component}${o.source.host ? `, ${o.source.host}` : ''}` : o.reportingComponent ?? '';
      return [age(last, now), o.type ?? '', o.reason ?? '', eventObject(o), o.involvedObject?.fieldPath ?? '', src, String(o.message ?? '').trim(), age(first, now), o.series?.count ?? o.count ?? 1, o.metadata.name];
    },
  },
  resourcequotas: {
    columns: [['Name', 0], ['Age', 0], ['Request', 0], ['Limit', 0]],
    row: (o, now) => {
      const hard: Obj = o.status?.hard ?? o.spec?.hard ?? {};
      const used: Obj = o.status?.used ?? {};
      const req: string[] = [];
      const lim: string[] = [];
      for (const k of Object.keys(hard).sort()) (k.startsWith('limits.') ? lim : req).push(`${k}: ${used[k] ?? '0'}/${hard[k]}`);
      return [o.metadata.name, age(o.metadata.creationTimestamp, now), req.join(', '), lim.join(', ')];
    },
  },
  limitranges: {
    columns: [['Name', 0], ['Created At', 0]],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
  },
  replicationcontrollers: {
    columns: [['Name', 0], ['Desired', 0], ['Current', 0], ['Ready', 0], ['Age', 0], ['Containers', 1], ['Images', 1], ['Selector', 1]],
    row: (o, now) => [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o.metadata.creationTimestamp, now), ...wideWorkload(o, o.spec?.selector)],
  },
  endpointslices: {
    columns: [['Name', 0], ['AddressType', 0], ['Ports', 0], ['Endpoints', 0], ['Age', 0]],
    row: (o, now) => {
      const ports = (o.ports ?? []).map((p: Obj) => String(p.port ?? '')).filter(Boolean);
      const addrs = (o.endpoints ?? []).flatMap((e: Obj) => e.addresses ?? []);
      const ep = addrs.length ? (addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',')) : '<unset>';
      return [o.metadata.name, o.addressType ?? '', ports.length ? ports.join(',') : '<unset>', ep, age(o.metadata.creationTimestamp, now)];
    },
  },
  ingresses: {
    columns: [['Name', 0], ['Class', 0], ['Hosts', 0], ['Address', 0], ['Ports', 0], ['Age', 0]],
    row: (o, now) => {
      const hosts = (o.spec?.rules ?? []).map((r: Obj) => r.host).filter(Boolean);
      const addr = (o.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip ?? i.hostname).join(',');
      return [o.metadata.name, o.spec?.ingressClassName ?? '<none>', hosts.length ? hosts.join(',') : '*', addr, o.spec?.tls?.length ? '80, 443' : '80', age(o.metadata.creationTimestamp, now)];
    },
  },
  ingressclasses: {
    columns: [['Name', 0], ['Controller', 0], ['Parameters', 0], ['Age', 0]],
    row: (o, now) => [o.metadata.name, o.spec?.controller ?? '', o.spec?.parameters ? `${o.spec.parameters.kind}/${o.spec.parameters.name}` : '<none>', age(o.metadata.creationTimestamp, now)],
  },
  leases: {
    columns: [['Name', 0], ['Holder', 0], ['Age', 0]],
    row: (o, now) => [o.metadata.name, o.spec?.holderIdentity ?? '', age(o.metadata.creationTimestamp, now)],
  },
};

const DEFAULT: Printer = {
  columns: [['Name', 0], ['Age', 0]],
  row: (o, now) => [o.metadata.name, age(o.metadata.creationTimestamp, now)],
};

const DESCRIPTIONS: Record<string, string> = {
  Name: 'Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  Age: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

/** The Table column definitions for a stored resource. */
export function tableColumns(storage: string): ColumnDefinition[] {
  const p = PRINTERS[storage] ?? DEFAULT;
  return p.columns.map(([name, priority, type]) => ({
    name,
    type: type ?? (name === 'Count' ? 'integer' : 'string'),
    format: name === 'Name' ? 'name' : '',
    description: DESCRIPTIONS[name] ?? '',
    priority,
  }));
}

/** The Table cells for one object. */
export function tableRow(storage: string, obj: KubeObject, now = Date.now()): Cell[] {
  return (PRINTERS[storage] ?? DEFAULT).row(obj as Obj, now);
}
