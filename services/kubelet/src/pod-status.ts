/**
 * A pod's status from what the kubelet knows of its containers: phase,
 * conditions, IPs and containerStatuses, as `kubectl get pods` reads them.
 * Pure.
 */
import type { ContainerState as ContainerStateJson, ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | { kind: 'terminated'; exitCode: number; reason: string; startedAt: string; finishedAt: string; signal?: number };

export interface ContainerInfo {
  name: string;
  image: string;
  imageRef: string;
  containerID?: string;
  state: ContainerState;
  lastState?: ContainerState;
  restartCount: number;
  /** Probes' view (readiness, startup); running without probes is ready and started. */
  ready?: boolean;
  started?: boolean;
}

/** A pod condition as the kubelet writes it: Kubernetes sends an unset lastProbeTime as null (Go's zero time). */
export type KubeletPodCondition = Omit<PodCondition, 'lastProbeTime'> & { lastProbeTime?: string | null };

/** The pod's status as the kubelet writes it. */
export type KubeletPodStatus = Omit<PodStatus, 'conditions'> & { conditions?: KubeletPodCondition[] };

function stateJson(s: ContainerState | undefined): ContainerStateJson {
  if (!s) return {};
  if (s.kind === 'waiting') return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
  if (s.kind === 'running') return { running: { startedAt: s.startedAt } };
  return {
    terminated: { exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt, finishedAt: s.finishedAt, ...(s.signal ? { signal: s.signal } : {}) },
  };
}

export interface InitView {
  inits: ContainerInfo[];
  initDone: boolean;
}

export function podPhase(pod: Pod, containers: ContainerInfo[], init: InitView = { inits: [], initDone: true }): string {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (!init.initDone) {
    const failed = init.inits.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
    return failed && policy === 'Never' ? 'Failed' : 'Pending';
  }
  if (!containers.length || containers.some((c) => c.state.kind === 'waiting' && c.restartCount === 0 && !c.lastState)) return 'Pending';
  const terminated = containers.filter((c) => c.state.kind === 'terminated');
  if (terminated.length === containers.length && policy !== 'Always') {
    const failed = terminated.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
    if (policy === 'Never') return failed ? 'Failed' : 'Succeeded';
    if (!failed) return 'Succeeded';
  }
  return 'Running';
}

export function podStatus(
  pod: Pod,
  containers: ContainerInfo[],
  net: { podIP?: string; hostIP: string; startTime: string },
  now: string,
  init: InitView = { inits: [], initDone: true },
): KubeletPodStatus {
  const prev: KubeletPodCondition[] = (pod.status as KubeletPodStatus | undefined)?.conditions ?? [];
  const cond = (type: string, ok: boolean, reason?: string): KubeletPodCondition => {
    const status = ok ? 'True' : 'False';
    const old = prev.find((c) => c.type === type);
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: old?.status === status ? old.lastTransitionTime : now,
      ...(reason && !ok ? { reason } : {}),
    };
  };
  const isReady = (c: ContainerInfo) => c.state.kind === 'running' && c.ready !== false;
  const ready = init.initDone && containers.length > 0 && containers.every(isReady);
  const phase = podPhase(pod, containers, init);
  const done = phase === 'Succeeded' || phase === 'Failed';
  const notReady = done ? 'PodCompleted' : 'ContainersNotReady';
  return {
    ...(pod.status ?? {}),
    phase,
    conditions: [
      cond('PodReadyToStartContainers', !!net.podIP),
      cond('Initialized', init.initDone, 'ContainersNotInitialized'),
      cond('Ready', ready, notReady),
      cond('ContainersReady', ready, notReady),
      cond('PodScheduled', true),
    ],
    hostIP: net.hostIP,
    hostIPs: [{ ip: net.hostIP }],
    ...(net.podIP ? { podIP: net.podIP, podIPs: [{ ip: net.podIP }] } : {}),
    startTime: net.startTime,
    ...(init.inits.length ? { initContainerStatuses: init.inits.map((c) => containerStatus(c, c.state.kind === 'terminated' && c.state.exitCode === 0)) } : {}),
    containerStatuses: containers.map((c) => containerStatus(c, isReady(c))),
  };
}

function containerStatus(c: ContainerInfo, ready: boolean): ContainerStatus {
  return {
    name: c.name,
    image: c.image,
    imageID: c.imageRef,
    ...(c.containerID ? { containerID: c.containerID } : {}),
    ready,
    started: c.state.kind === 'running' && c.started !== false,
    restartCount: c.restartCount,
    state: stateJson(c.state),
    lastState: stateJson(c.lastState),
  };
}
