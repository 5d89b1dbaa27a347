/**
 * The Node a kubelet registers and the status it reports: addresses,
 * capacity/allocatable, node info, labels and the four conditions. Pure:
 * facts about the machine come in as arguments.
 */
import type { Node, NodeCondition, NodeSpec, NodeStatus, Taint } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { formatTime as ts } from '@kemu/api';

export interface NodeFacts {
  name: string;
  ip: string;
  /**
   * The address a client outside the cluster network reaches the node at (a cloud's external address). kemu's node
   * addresses are reachable from the host, under `kemu up` and under Docker alike: the same as `ip` unless set.
   */
  externalIp?: string;
  cpu: number;
  memoryBytes: number;
  maxPods: number;
  kernel: string;
  osImage: string;
  arch: string;
  /** Memory available right now (bytes), for MemoryPressure. */
  memoryAvailable: number;
  /** Free fraction of the kubelet's disk, for DiskPressure. */
  diskFreeFraction: number;
  /** Processes running vs the pid limit, for PIDPressure. */
  pidsUsedFraction: number;
  controlPlane?: boolean;
  /** --node-labels: labels the kubelet sets on its Node at every registration. */
  labels?: Record<string, string>;
  /** --register-with-taints: taints the Node is created with (only then, as the kubelet does). */
  taints?: Taint[];
}

const mem = (bytes: number) => `${Math.floor(bytes / 1024)}Ki`;

export const KUBELET_VERSION = 'v1.32.0';

type Condition = Required<Pick<NodeCondition, 'type' | 'status' | 'reason' | 'message' | 'lastHeartbeatTime' | 'lastTransitionTime'>>;

/** A Node as the kubelet builds it: the fields it always sets are not optional. */
export type KubeletNode = Node & {
  metadata: ObjectMeta & { name: string; labels: Record<string, string> };
  spec: NodeSpec;
  status: NodeStatus & Required<Pick<NodeStatus, 'capacity' | 'allocatable' | 'addresses' | 'nodeInfo'>> & { conditions: Condition[] };
};

/** The conditions, keeping lastTransitionTime when a status did not change (as the kubelet does). */
export function conditions(f: NodeFacts, previous: NodeCondition[], now: Date, ready = true): Condition[] {
  const want: Omit<Condition, 'lastHeartbeatTime' | 'lastTransitionTime'>[] = [
    f.memoryAvailable < 100 * 2 ** 20
      ? { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory', message: 'kubelet has insufficient memory available' }
      : { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
    f.diskFreeFraction < 0.1
      ? { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure', message: 'kubelet has disk pressure' }
      : { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
    f.pidsUsedFraction > 0.9
      ? { type: 'PIDPressure', status: 'True', reason: 'KubeletHasInsufficientPID', message: 'kubelet has insufficient PID available' }
      : { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
    ready
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime status check may not have completed yet' },
  ];
  return want.map((c) => {
    const old = previous.find((p) => p.type === c.type);
    return { ...c, lastHeartbeatTime: ts(now), lastTransitionTime: old?.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : ts(now) };
  });
}

/** The Node as the kubelet reports it; `ready` false is how it registers, before its Lease exists. */
export function nodeObject(f: NodeFacts, previous: Node | undefined, now: Date, ready = true): KubeletNode {
  const capacity = { cpu: String(f.cpu), memory: mem(f.memoryBytes), pods: String(f.maxPods), 'ephemeral-storage': '10Gi' };
  // The kubelet keeps some memory back for the system, as --system-reserved does.
  const allocatable = { ...capacity, memory: mem(Math.max(0, f.memoryBytes - 100 * 2 ** 20)) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      ...(previous?.metadata ?? {}),
      name: f.name,
      labels: {
        ...(previous?.metadata?.labels ?? {}),
        'kubernetes.io/hostname': f.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': f.arch,
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': f.arch,
        ...(f.controlPlane ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
        ...(f.labels ?? {}),
      },
    },
    spec: previous ? { ...(previous.spec ?? {}) } : f.taints?.length ? { taints: f.taints } : {},
    status: {
      capacity,
      allocatable,
      conditions: conditions(f, previous?.status?.conditions ?? [], now, ready),
      addresses: [
        { type: 'InternalIP', address: f.ip },
        { type: 'ExternalIP', address: f.externalIp ?? f.ip },
        { type: 'Hostname', address: f.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: f.kernel,
        osImage: f.osImage,
        containerRuntimeVersion: 'kemu://0.1.0',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: f.arch,
      },
    },
  };
}
