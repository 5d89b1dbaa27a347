import { describe, expect, it } from 'vitest';
import { humanDuration, podStatusText, tableColumns, tableRow } from './printers.js';
import { formatTime } from './time.js';
import type { KubeObject } from './types.js';

const NOW = Date.UTC(2024, 0, 10, 12, 0, 0);
/** The metav1.Time of `s` seconds ago. */
const ago = (s: number) => formatTime(NOW - s * 1000);
const row = (storage: string, o: object) => tableRow(storage, o as KubeObject, NOW);
const columns = (storage: string) => tableColumns(storage).map((c) => (c.priority ? `(${c.name})` : c.name));

describe('humanDuration (kubectl AGE)', () => {
  it.each([
    [0, '0s'],
    [-1500, '0s'],
    [-3000, '<invalid>'],
    [59_000, '59s'],
    [119_999, '119s'],
    [120_000, '2m'],
    [150_000, '2m30s'],
    [600_000, '10m'],
    [179 * 60_000, '179m'],
    [3 * 3600_000, '3h'],
    [3 * 3600_000 + 5 * 60_000, '3h5m'],
    [8 * 3600_000, '8h'],
    [47 * 3600_000, '47h'],
    [50 * 3600_000, '2d2h'],
    [3 * 86400_000, '3d'],
    [8 * 86400_000, '8d'],
    [729 * 86400_000, '729d'],
    [730 * 86400_000, '2y'],
    [800 * 86400_000, '2y70d'],
    [3000 * 86400_000, '8y'],
  ])('%d ms is %s', (ms, want) => expect(humanDuration(ms)).toBe(want));
});

const ready = { type: 'Ready', status: 'True' };
const running = (name: string, o: object = {}) => ({ name, ready: true, restartCount: 0, state: { running: { startedAt: ago(60) } }, ...o });
const waiting = (name: string, reason: string, o: object = {}) => ({ name, ready: false, restartCount: 0, state: { waiting: { reason } }, ...o });
const terminated = (name: string, exitCode: number, reason?: string, o: object = {}) => ({
  name,
  ready: false,
  restartCount: 0,
  state: { terminated: { exitCode, reason } },
  ...o,
});
const pod = (o: { containers?: string[]; init?: object[]; status?: object; deleted?: boolean; gates?: string[] } = {}) => ({
  metadata: { name: 'p', creationTimestamp: ago(300), ...(o.deleted ? { deletionTimestamp: ago(0) } : {}) },
  spec: {
    containers: (o.containers ?? ['c']).map((name) => ({ name, image: 'nginx' })),
    ...(o.init ? { initContainers: o.init } : {}),
    ...(o.gates ? { readinessGates: o.gates.map((conditionType) => ({ conditionType })) } : {}),
  },
  status: o.status ?? {},
});

describe('pods', () => {
  it('has kubectl get pods columns', () => {
    expect(columns('pods')).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age', '(IP)', '(Node)', '(Nominated Node)', '(Readiness Gates)']);
  });

  it.each([
    ['new pod', pod({ status: { phase: 'Pending' } }), 'Pending', '0/1'],
    [
      'unscheduled pod',
      pod({ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } }),
      'Pending',
      '0/1',
    ],
    [
      'gated pod',
      pod({ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] } }),
      'SchedulingGated',
      '0/1',
    ],
    ['creating', pod({ status: { phase: 'Pending', containerStatuses: [waiting('c', 'ContainerCreating')] } }), 'ContainerCreating', '0/1'],
    ['image pull', pod({ status: { phase: 'Pending', containerStatuses: [waiting('c', 'ImagePullBackOff')] } }), 'ImagePullBackOff', '0/1'],
    ['running', pod({ status: { phase: 'Running', conditions: [ready], containerStatuses: [running('c')] } }), 'Running', '1/1'],
    ['running, not ready', pod({ status: { phase: 'Running', containerStatuses: [running('c', { ready: false })] } }), 'Running', '0/1'],
    [
      'crash loop',
      pod({ status: { phase: 'Running', containerStatuses: [waiting('c', 'CrashLoopBackOff', { restartCount: 4 })] } }),
      'CrashLoopBackOff',
      '0/1',
    ],
    ['completed', pod({ status: { phase: 'Succeeded', containerStatuses: [terminated('c', 0, 'Completed')] } }), 'Completed', '0/1'],
    ['error', pod({ status: { phase: 'Failed', containerStatuses: [terminated('c', 1, 'Error')] } }), 'Error', '0/1'],
    ['OOM killed', pod({ status: { phase: 'Failed', containerStatuses: [terminated('c', 137, 'OOMKilled')] } }), 'OOMKilled', '0/1'],
    [
      'killed by a signal, no reason',
      pod({
        status: { phase: 'Failed', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, signal: 9 } } }] },
      }),
      'Signal:9',
      '0/1',
    ],
    ['exit code, no reason', pod({ status: { phase: 'Failed', containerStatuses: [terminated('c', 3)] } }), 'ExitCode:3', '0/1'],
    // The first container's state wins; a completed one next to a running one is Running once the pod is Ready.
    [
      'one done, one running, ready',
      pod({ containers: ['a', 'b'], status: { phase: 'Running', conditions: [ready], containerStatuses: [terminated('a', 0, 'Completed'), running('b')] } }),
      'Running',
      '1/2',
    ],
    [
      'one done, one running, not ready',
      pod({ containers: ['a', 'b'], status: { phase: 'Running', containerStatuses: [terminated('a', 0, 'Completed'), running('b')] } }),
      'NotReady',
      '1/2',
    ],
    [
      'one done, one failed',
      pod({ containers: ['a', 'b'], status: { phase: 'Failed', containerStatuses: [terminated('a', 0, 'Completed'), terminated('b', 2, 'Error')] } }),
      'Error',
      '0/2',
    ],
    [
      'init waiting to start',
      pod({
        init: [{ name: 'i', image: 'busybox' }],
        status: { phase: 'Pending', initContainerStatuses: [waiting('i', 'PodInitializing')], containerStatuses: [waiting('c', 'PodInitializing')] },
      }),
      'Init:0/1',
      '0/1',
    ],
    [
      'second init running',
      pod({
        init: [
          { name: 'i', image: 'x' },
          { name: 'j', image: 'x' },
        ],
        status: { phase: 'Pending', initContainerStatuses: [terminated('i', 0, 'Completed'), running('j', { ready: false })] },
      }),
      'Init:1/2',
      '0/1',
    ],
    [
      'init failed',
      pod({ init: [{ name: 'i', image: 'x' }], status: { phase: 'Pending', initContainerStatuses: [terminated('i', 1, 'Error')] } }),
      'Init:Error',
      '0/1',
    ],
    [
      'init exit code',
      pod({ init: [{ name: 'i', image: 'x' }], status: { phase: 'Pending', initContainerStatuses: [terminated('i', 2)] } }),
      'Init:ExitCode:2',
      '0/1',
    ],
    [
      'init crash loop',
      pod({ init: [{ name: 'i', image: 'x' }], status: { phase: 'Pending', initContainerStatuses: [waiting('i', 'CrashLoopBackOff')] } }),
      'Init:CrashLoopBackOff',
      '0/1',
    ],
    // A sidecar (restartPolicy Always) counts in READY and does not hold the pod in Init.
    [
      'sidecar started',
      pod({
        init: [{ name: 's', image: 'x', restartPolicy: 'Always' }],
        status: { phase: 'Running', conditions: [ready], initContainerStatuses: [running('s', { started: true })], containerStatuses: [running('c')] },
      }),
      'Running',
      '2/2',
    ],
    [
      'sidecar not started',
      pod({
        init: [{ name: 's', image: 'x', restartPolicy: 'Always' }],
        status: { phase: 'Pending', initContainerStatuses: [running('s', { started: false, ready: false })] },
      }),
      'Init:0/1',
      '0/2',
    ],
    ['terminating', pod({ deleted: true, status: { phase: 'Running', conditions: [ready], containerStatuses: [running('c')] } }), 'Terminating', '1/1'],
    [
      'deleted after it completed',
      pod({ deleted: true, status: { phase: 'Succeeded', containerStatuses: [terminated('c', 0, 'Completed')] } }),
      'Completed',
      '0/1',
    ],
    ['on a lost node', pod({ deleted: true, status: { phase: 'Running', reason: 'NodeLost', containerStatuses: [running('c')] } }), 'Unknown', '1/1'],
    ['evicted', pod({ status: { phase: 'Failed', reason: 'Evicted' } }), 'Evicted', '0/1'],
  ])('%s', (_name, p, status, readyText) => {
    const cells = row('pods', p);
    expect(cells[2]).toBe(status);
    expect(cells[1]).toBe(readyText);
    expect(podStatusText(p as never)).toBe(status);
  });

  it.each([
    ['none', [running('c')], undefined, '0'],
    ['without a time', [running('c', { restartCount: 2 })], undefined, '2'],
    [
      'with the last one',
      [
        running('a', { restartCount: 2, lastState: { terminated: { exitCode: 1, finishedAt: ago(45) } } }),
        running('b', { restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(600) } } }),
      ],
      undefined,
      '3 (45s ago)',
    ],
    [
      'with a sidecar',
      [running('c', { restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(3600) } } })],
      [running('s', { started: true, restartCount: 2, lastState: { terminated: { exitCode: 1, finishedAt: ago(90) } } })],
      '3 (90s ago)',
    ],
  ])('RESTARTS %s', (_name, containerStatuses, initContainerStatuses, want) => {
    const init = initContainerStatuses ? [{ name: 's', image: 'x', restartPolicy: 'Always' }] : undefined;
    const containers = containerStatuses.map((c) => c.name);
    expect(row('pods', pod({ containers, init, status: { phase: 'Running', containerStatuses, initContainerStatuses } }))[3]).toBe(want);
  });

  it('counts init container restarts while the pod initializes', () => {
    const p = pod({
      init: [{ name: 'i', image: 'x' }],
      status: {
        phase: 'Pending',
        initContainerStatuses: [waiting('i', 'CrashLoopBackOff', { restartCount: 5, lastState: { terminated: { exitCode: 1, finishedAt: ago(10) } } })],
      },
    });
    expect(row('pods', p).slice(1, 4)).toEqual(['0/1', 'Init:CrashLoopBackOff', '5 (10s ago)']);
  });

  it('fills the wide columns', () => {
    const p = pod({
      gates: ['a', 'b'],
      status: {
        phase: 'Running',
        podIP: '10.244.1.5',
        podIPs: [{ ip: '10.244.1.5' }],
        conditions: [
          { type: 'a', status: 'True' },
          { type: 'b', status: 'False' },
        ],
        containerStatuses: [running('c')],
      },
    });
    (p.spec as Record<string, unknown>).nodeName = 'node-1';
    expect(row('pods', p)).toEqual(['p', '1/1', 'Running', '0', '5m', '10.244.1.5', 'node-1', '<none>', '1/2']);
    expect(row('pods', { metadata: { name: 'bare' }, spec: { containers: [] } })).toEqual([
      'bare',
      '0/0',
      '',
      '0',
      '<unknown>',
      '<none>',
      '<none>',
      '<none>',
      '<none>',
    ]);
  });
});

describe('workloads', () => {
  const template = {
    spec: {
      containers: [
        { name: 'web', image: 'nginx' },
        { name: 'log', image: 'busybox' },
      ],
    },
  };
  const selector = {
    matchLabels: { tier: 'web', app: 'x' },
    matchExpressions: [
      { key: 'env', operator: 'NotIn', values: ['test', 'dev'] },
      { key: 'canary', operator: 'DoesNotExist' },
    ],
  };

  it('deployments: READY, UP-TO-DATE, AVAILABLE', () => {
    expect(columns('deployments')).toEqual(['Name', 'Ready', 'Up-to-date', 'Available', 'Age', '(Containers)', '(Images)', '(Selector)']);
    const d = {
      metadata: { name: 'd', creationTimestamp: ago(7200) },
      spec: { replicas: 3, selector, template },
      status: { replicas: 4, readyReplicas: 2, updatedReplicas: 1, availableReplicas: 2 },
    };
    expect(row('deployments', d)).toEqual(['d', '2/3', 1, 2, '120m', 'web,log', 'nginx,busybox', 'app=x,!canary,env notin (dev,test),tier=web']);
    expect(row('deployments', { metadata: { name: 'new' }, spec: { replicas: 2, template } }).slice(0, 4)).toEqual(['new', '0/2', 0, 0]);
  });

  it('replicasets and daemonsets', () => {
    expect(
      tableColumns('replicasets')
        .slice(1, 4)
        .map((c) => c.type),
    ).toEqual(['integer', 'integer', 'integer']);
    expect(
      row('replicasets', {
        metadata: { name: 'rs', creationTimestamp: ago(30) },
        spec: { replicas: 2, selector: { matchLabels: { b: '2', a: '1' } }, template },
        status: { replicas: 2, readyReplicas: 1 },
      }),
    ).toEqual(['rs', 2, 2, 1, '30s', 'web,log', 'nginx,busybox', 'a=1,b=2']);
    const ds = {
      metadata: { name: 'ds', creationTimestamp: ago(30) },
      spec: { selector: {}, template: { spec: { ...template.spec, nodeSelector: { z: '1', os: 'linux' } } } },
      status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 },
    };
    expect(row('daemonsets', ds)).toEqual(['ds', 3, 3, 2, 3, 2, 'os=linux,z=1', '30s', 'web,log', 'nginx,busybox', '<none>']);
  });

  it('replicationcontrollers', () => {
    expect(
      row('replicationcontrollers', {
        metadata: { name: 'rc' },
        spec: { replicas: 1, selector: { b: 'y', a: 'x' }, template },
        status: { replicas: 1, readyReplicas: 1 },
      }),
    ).toEqual(['rc', 1, 1, 1, '<unknown>', 'web,log', 'nginx,busybox', 'a=x,b=y']);
  });
});

describe('services and endpoints', () => {
  const svc = (spec: object, status: object = {}) => ({ metadata: { name: 's', creationTimestamp: ago(5) }, spec: { type: 'ClusterIP', ...spec }, status });
  it.each([
    [
      'ClusterIP',
      svc({ clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ port: 80, protocol: 'TCP' }], selector: { run: 'web', app: 'x' } }),
      ['s', 'ClusterIP', '10.96.0.20', '<none>', '80/TCP', '5s', 'app=x,run=web'],
    ],
    ['headless', svc({ clusterIP: 'None', clusterIPs: ['None'] }), ['s', 'ClusterIP', 'None', '<none>', '<none>', '5s', '<none>']],
    [
      'NodePort',
      svc({
        type: 'NodePort',
        clusterIPs: ['10.96.0.21'],
        ports: [
          { port: 80, nodePort: 30080, protocol: 'TCP' },
          { port: 53, nodePort: 30053, protocol: 'UDP' },
        ],
      }),
      ['s', 'NodePort', '10.96.0.21', '<none>', '80:30080/TCP,53:30053/UDP', '5s', '<none>'],
    ],
    [
      'ClusterIP with external IPs',
      svc({ clusterIPs: ['10.96.0.22'], externalIPs: ['1.2.3.4'] }),
      ['s', 'ClusterIP', '10.96.0.22', '1.2.3.4', '<none>', '5s', '<none>'],
    ],
    [
      'LoadBalancer pending',
      svc({ type: 'LoadBalancer', clusterIPs: ['10.96.0.23'] }),
      ['s', 'LoadBalancer', '10.96.0.23', '<pending>', '<none>', '5s', '<none>'],
    ],
    [
      'LoadBalancer',
      svc(
        { type: 'LoadBalancer', clusterIPs: ['10.96.0.23'] },
        { loadBalancer: { ingress: [{ ip: '172.28.2.2' }, { hostname: 'lb.example' }, { ip: '172.28.2.1' }, { ip: '172.28.2.1' }] } },
      ),
      ['s', 'LoadBalancer', '10.96.0.23', '172.28.2.1,172.28.2.2,lb.example', '<none>', '5s', '<none>'],
    ],
    [
      'LoadBalancer with external IPs',
      svc({ type: 'LoadBalancer', clusterIPs: ['10.96.0.23'], externalIPs: ['9.9.9.9'] }, { loadBalancer: { ingress: [{ ip: '172.28.2.1' }] } }),
      ['s', 'LoadBalancer', '10.96.0.23', '172.28.2.1,9.9.9.9', '<none>', '5s', '<none>'],
    ],
    [
      'ExternalName',
      svc({ type: 'ExternalName', externalName: 'db.example.com' }),
      ['s', 'ExternalName', '<none>', 'db.example.com', '<none>', '5s', '<none>'],
    ],
  ])('%s', (_name, s, want) => expect(row('services', s)).toEqual(want));

  it('has the service columns', () => expect(columns('services')).toEqual(['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', '(Selector)']));

  const ep = (subsets?: object[]) => ({ metadata: { name: 'e' }, ...(subsets ? { subsets } : {}) });
  const addrs = (...ips: string[]) => ips.map((ip) => ({ ip }));
  it.each([
    ['none', ep(), '<none>'],
    ['only not-ready addresses', ep([{ notReadyAddresses: addrs('10.244.1.2'), ports: [{ port: 80 }] }]), ''],
    ['one', ep([{ addresses: addrs('10.244.1.2'), ports: [{ port: 80 }] }]), '10.244.1.2:80'],
    ['no ports', ep([{ addresses: addrs('10.244.1.2', '10.244.1.3') }]), '10.244.1.2,10.244.1.3'],
    [
      'ports times addresses',
      ep([{ addresses: addrs('10.244.1.2', '10.244.2.2'), ports: [{ port: 80 }, { port: 443 }] }]),
      '10.244.1.2:80,10.244.2.2:80,10.244.1.2:443 + 1 more...',
    ],
    ['IPv6', ep([{ addresses: addrs('fd00::1'), ports: [{ port: 80 }] }]), '[fd00::1]:80'],
  ])('endpoints: %s', (_name, e, want) => expect(row('endpoints', e)[1]).toBe(want));

  it.each([
    ['empty', {}, '<unset>', '<unset>'],
    [
      'ports and addresses',
      { ports: [{ port: 80 }, { name: 'http' }, {}], endpoints: [{ addresses: ['10.244.1.2'] }, { addresses: ['10.244.1.3', '10.244.1.4', '10.244.1.5'] }] },
      '80,http,*',
      '10.244.1.2,10.244.1.3,10.244.1.4 + 1 more...',
    ],
  ])('endpointslices: %s', (_name, s, ports, endpoints) => {
    expect(row('endpointslices', { metadata: { name: 'es' }, addressType: 'IPv4', ...s })).toEqual(['es', 'IPv4', ports, endpoints, '<unknown>']);
  });
});

describe('nodes', () => {
  const node = (o: { ready?: string; unschedulable?: boolean; labels?: Record<string, string> } = {}) => ({
    metadata: { name: 'node-1', creationTimestamp: ago(90000), labels: o.labels },
    spec: o.unschedulable ? { unschedulable: true } : {},
    status: {
      conditions: o.ready
        ? [
            { type: 'MemoryPressure', status: 'False' },
            { type: 'Ready', status: o.ready },
          ]
        : [],
      addresses: [
        { type: 'InternalIP', address: '172.28.1.1' },
        { type: 'Hostname', address: 'node-1' },
      ],
      nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian', kernelVersion: '6.1', containerRuntimeVersion: 'kemu://1' },
    },
  });
  it.each([
    ['ready', node({ ready: 'True' }), 'Ready'],
    ['not ready', node({ ready: 'False' }), 'NotReady'],
    ['unknown readiness', node({ ready: 'Unknown' }), 'NotReady'],
    ['never reported', node(), 'Unknown'],
    ['cordoned', node({ ready: 'True', unschedulable: true }), 'Ready,SchedulingDisabled'],
    ['cordoned and down', node({ ready: 'False', unschedulable: true }), 'NotReady,SchedulingDisabled'],
  ])('STATUS %s', (_name, n, want) => expect(row('nodes', n)[1]).toBe(want));

  it.each([
    [{}, '<none>'],
    [{ 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/': '' }, 'control-plane'],
    [{ 'node-role.kubernetes.io/worker': '', 'kubernetes.io/role': 'worker', 'node-role.kubernetes.io/infra': '' }, 'infra,worker'],
    [{ 'kubernetes.io/role': '' }, '<none>'],
  ])('ROLES of %j: %s', (labels, want) => expect(row('nodes', node({ ready: 'True', labels }))[2]).toBe(want));

  it('fills every column', () => {
    expect(row('nodes', node({ ready: 'True' }))).toEqual(['node-1', 'Ready', '<none>', '25h', 'v1.32.0', '172.28.1.1', '<none>', 'Debian', '6.1', 'kemu://1']);
  });
});

describe('events', () => {
  const ev = (o: object) => ({
    metadata: { name: 'p.17a' },
    involvedObject: { kind: 'Pod', name: 'p', fieldPath: 'spec.containers{c}' },
    type: 'Normal',
    reason: 'Pulled',
    message: ' pulled \n',
    ...o,
  });
  it('has the event columns', () =>
    expect(columns('events')).toEqual(['Last Seen', 'Type', 'Reason', 'Object', '(Subobject)', '(Source)', 'Message', '(First Seen)', '(Count)', '(Name)']));
  it.each([
    [
      'core event',
      ev({ firstTimestamp: ago(600), lastTimestamp: ago(30), count: 4, source: { component: 'kubelet', host: 'node-1' } }),
      ['30s', 'Normal', 'Pulled', 'pod/p', 'spec.containers{c}', 'kubelet, node-1', 'pulled', '10m', 4, 'p.17a'],
    ],
    [
      'new-API event',
      ev({ eventTime: formatTime(NOW - 20_000).replace('Z', '.000000Z'), reportingComponent: 'default-scheduler', reportingInstance: 'sched-1' }),
      ['20s', 'Normal', 'Pulled', 'pod/p', 'spec.containers{c}', 'default-scheduler, sched-1', 'pulled', '20s', 1, 'p.17a'],
    ],
    [
      'series',
      ev({ eventTime: ago(900), series: { count: 7, lastObservedTime: ago(15) } }),
      ['15s', 'Normal', 'Pulled', 'pod/p', 'spec.containers{c}', '', 'pulled', '15m', 7, 'p.17a'],
    ],
    [
      'no time at all',
      ev({ metadata: { name: 'x', creationTimestamp: ago(5) }, involvedObject: { kind: 'Node' } }),
      ['<unknown>', 'Normal', 'Pulled', 'node', '', '', 'pulled', '<unknown>', 1, 'x'],
    ],
  ])('%s', (_name, e, want) => expect(row('events', e)).toEqual(want));
});

describe('other resources', () => {
  it('resource quotas: REQUEST and LIMIT from status', () => {
    expect(columns('resourcequotas')).toEqual(['Name', 'Request', 'Limit', 'Age']);
    const q = {
      metadata: { name: 'q', creationTimestamp: ago(60) },
      spec: { hard: { pods: '10' } },
      status: { hard: { 'requests.cpu': '1', pods: '10', 'limits.memory': '1Gi', 'limits.cpu': '2' }, used: { 'requests.cpu': '250m', 'limits.cpu': '500m' } },
    };
    expect(row('resourcequotas', q)).toEqual(['q', 'pods: 0/10, requests.cpu: 250m/1', 'limits.cpu: 500m/2, limits.memory: 0/1Gi', '60s']);
    expect(row('resourcequotas', { metadata: { name: 'new' }, spec: { hard: { pods: '1' } } })).toEqual(['new', '', '', '<unknown>']);
  });
  it('ingresses', () => {
    const rules = ['a', 'b', '', 'c', 'd'].map((host) => (host ? { host: `${host}.example` } : {}));
    const ing = {
      metadata: { name: 'i', creationTimestamp: ago(3) },
      spec: { ingressClassName: 'nginx', rules, tls: [{ hosts: ['a.example'] }] },
      status: { loadBalancer: { ingress: [{ ip: '172.28.1.2' }, { ip: '172.28.1.1' }] } },
    };
    expect(row('ingresses', ing)).toEqual(['i', 'nginx', 'a.example,b.example + 2 more...', '172.28.1.1,172.28.1.2', '80, 443', '3s']);
    expect(row('ingresses', { metadata: { name: 'j' }, spec: { rules: [{}] } })).toEqual(['j', '<none>', '*', '', '80', '<unknown>']);
  });
  it('ingress classes', () => {
    const ic = {
      metadata: { name: 'nginx' },
      spec: { controller: 'k8s.io/ingress-nginx', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' } },
    };
    expect(row('ingressclasses', ic)).toEqual(['nginx', 'k8s.io/ingress-nginx', 'IngressParameters.k8s.example.com/p', '<unknown>']);
  });
  it.each([
    ['namespaces', { metadata: { name: 'ns', creationTimestamp: ago(10) }, status: { phase: 'Terminating' } }, ['ns', 'Terminating', '10s']],
    ['configmaps', { metadata: { name: 'cm' }, data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }, ['cm', 3, '<unknown>']],
    ['secrets', { metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }, ['s', 'kubernetes.io/tls', 2, '<unknown>']],
    ['serviceaccounts', { metadata: { name: 'default' } }, ['default', 0, '<unknown>']],
    ['leases', { metadata: { name: 'kube-scheduler' }, spec: { holderIdentity: 'sched-1' } }, ['kube-scheduler', 'sched-1', '<unknown>']],
    ['limitranges', { metadata: { name: 'lr', creationTimestamp: '2024-01-02T03:04:05Z' } }, ['lr', '2024-01-02T03:04:05Z']],
    ['nosuchresources', { metadata: { name: 'x', creationTimestamp: '2024-01-02T03:04:05Z' } }, ['x', '2024-01-02T03:04:05Z']],
  ])('%s', (storage, o, want) => expect(row(storage, o)).toEqual(want));
  it("prints a resource without a printer as the api-server's default table does", () => {
    expect(tableColumns('nosuchresources')).toEqual([
      expect.objectContaining({ name: 'Name', type: 'string', format: 'name', priority: 0 }),
      expect.objectContaining({ name: 'Created At', type: 'date', format: '', priority: 0 }),
    ]);
  });
  it('gives every row as many cells as columns', () => {
    for (const storage of [
      'pods',
      'services',
      'endpoints',
      'nodes',
      'namespaces',
      'deployments',
      'replicasets',
      'replicationcontrollers',
      'daemonsets',
      'configmaps',
      'secrets',
      'serviceaccounts',
      'events',
      'resourcequotas',
      'limitranges',
      'endpointslices',
      'ingresses',
      'ingressclasses',
      'leases',
    ]) {
      expect(row(storage, { metadata: { name: 'x' }, involvedObject: {} }).length, storage).toBe(tableColumns(storage).length);
    }
  });
});
