/**
 * Static pods and their mirror pods, as the kubelet has them: a pod read from a
 * manifest file (--pod-manifest-path, kubeadm's /etc/kubernetes/manifests) is
 * shown in the API as a mirror pod named `<name>-<node>`, annotated
 * `kubernetes.io/config.mirror`, owned by its Node, tolerating NoExecute, at
 * system-node-critical priority; its status is what the kubelet observes.
 *
 * What kemu's static pods differ in: kemu does not start them. The processes
 * are the cluster's own (etcd, the api-server, the controllers, a node's
 * kube-proxy), run by kemu's launchers; the kubelet reports them. So the
 * status comes from observation: a container is running while its process
 * answers (readiness/liveness probe or metrics), ready while the readiness probe
 * passes, and restarted when the process start time its /metrics gives
 * (`process_start_time_seconds`) moves. A manifest may name a `generateName`
 * instead of a name: the mirror pod is then `<generateName><5 characters from
 * the node's name>`, as a DaemonSet's pod on that node would be named (kube-proxy).
 * Pure.
 */
import { createHash } from 'node:crypto';
import type { ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';

export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
export const HASH_ANNOTATION = 'kubernetes.io/config.hash';
export const SOURCE_ANNOTATION = 'kubernetes.io/config.source';
/** kemu's: the address the static pod's process answers on (its own under kemu, not always the node's). */
export const ADDRESS_ANNOTATION = 'kemu.dev/pod-ip';
/** kemu's: where the process's Prometheus metrics are (its process_start_time_seconds tells a restart). */
export const METRICS_ANNOTATION = 'kemu.dev/metrics-url';

/** Kubernetes' rand.String alphabet (no vowels, no 0/1/3): the suffixes of generated names. */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Is this API pod a mirror pod (the kubelet never runs one)? */
export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined;
}

/** The static pod's hash: of its manifest as read, so an edited manifest makes a new mirror pod. */
export function manifestHash(manifest: Pod): string {
  return createHash('sha256').update(JSON.stringify(manifest)).digest('hex').slice(0, 32);
}

/** A stable 5-character suffix for `seed` in Kubernetes' alphabet. */
export function nameSuffix(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  return Array.from(h.subarray(0, 5), (b) => ALPHABET[b % ALPHABET.length]).join('');
}

/** The mirror pod's name on `nodeName`. */
export function mirrorName(manifest: Pod, nodeName: string): string {
  const m = manifest.metadata ?? {};
  if (m.name) return `${m.name}-${nodeName}`;
  if (m.generateName) return `${m.generateName}${nameSuffix(nodeName)}`;
  throw new Error('a static pod manifest needs metadata.name or metadata.generateName');
}

/** The mirror pod to create for `manifest` on the node (no status: that is posted separately). */
export function mirrorPod(manifest: Pod, node: { name: string; uid: string }): Pod {
  const hash = manifestHash(manifest);
  const m = manifest.metadata ?? {};
  const meta = { ...m };
  delete meta.generateName;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...meta,
      name: mirrorName(manifest, node.name),
      namespace: m.namespace ?? 'default',
      annotations: {
        ...(m.annotations ?? {}),
        [HASH_ANNOTATION]: hash,
        [MIRROR_ANNOTATION]: hash,
        [SOURCE_ANNOTATION]: 'file',
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid, controller: true }],
    },
    spec: {
      // What the kubelet adds to a static pod: it stays through NoExecute taints, and is as critical as a node's own.
      tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
      priorityClassName: 'system-node-critical',
      priority: 2000001000,
      enableServiceLinks: true,
      ...manifest.spec,
      containers: manifest.spec?.containers ?? [],
      nodeName: node.name,
    },
  };
}

/** What the kubelet saw of the static pod's process in one round. */
export interface Observation {
  /** The process answered (probe or metrics). */
  alive: boolean;
  /** Its readiness probe passed (liveness when it has none; alive when it has neither). */
  ready: boolean;
  /** When its process started (process_start_time_seconds), if the metrics said. */
  startedAt?: Date;
  /** The probe's or metrics' failure, when not alive. */
  error?: string;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
/** Two start times closer than this are the same start (metrics give whole seconds, or Go's float seconds). */
const SAME_START_MS = 1500;

function condition(type: string, ok: boolean, previous: PodCondition[] | undefined, now: Date): PodCondition {
  const old = previous?.find((c) => c.type === type);
  const status = ok ? 'True' : 'False';
  return {
    type,
    status,
    lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : iso(now),
    ...(type.endsWith('Ready') && !ok ? { reason: 'ContainersNotReady', message: 'containers with unready status' } : {}),
  };
}

/**
 * The mirror pod's status after one observation, from the status it had (`previous`, as the API holds it: so a
 * restarted kubelet goes on counting restarts where it was).
 */
export function mirrorStatus(pod: Pod, previous: PodStatus | undefined, o: Observation, hostIP: string, now: Date): PodStatus {
  const prevByName = new Map((previous?.containerStatuses ?? []).map((c) => [c.name, c]));
  const containers = pod.spec?.containers ?? [];
  const statuses: ContainerStatus[] = containers.map((c) => {
    const prev = prevByName.get(c.name);
    const prevStart = prev?.state?.running?.startedAt;
    const startedAt = o.startedAt ? iso(o.startedAt) : o.alive ? (prevStart ?? iso(now)) : undefined;
    let restartCount = prev?.restartCount ?? 0;
    let lastState = prev?.lastState ?? {};
    const lastStart = prevStart ?? prev?.lastState?.terminated?.startedAt;
    const seenBefore = prev && (prevStart || prev.state?.waiting);
    // A new start time: the process ended and was started again (by its keeper or Docker) since the last round.
    if (o.alive && seenBefore && startedAt && lastStart && Math.abs(Date.parse(startedAt) - Date.parse(lastStart)) > SAME_START_MS) {
      restartCount++;
      lastState = {
        terminated: {
          exitCode: 137,
          reason: 'ContainerStatusUnknown',
          message: 'the process was started again by its launcher; its exit code is not known to the kubelet',
          startedAt: lastStart,
          finishedAt: prev.state?.waiting ? (prev.lastState?.terminated?.finishedAt ?? startedAt) : startedAt,
        },
      };
    }
    const state = o.alive
      ? { running: { startedAt: startedAt! } }
      : { waiting: { reason: 'NotResponding', message: o.error ?? 'the process does not answer' } };
    // A process gone since the last round: its last run ends now (the next start counts as a restart).
    if (!o.alive && prevStart) lastState = { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', startedAt: prevStart, finishedAt: iso(now) } };
    return {
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      containerID: startedAt ? `kemu://${pod.metadata?.name ?? ''}-${Date.parse(startedAt) / 1000}` : undefined,
      ready: o.alive && o.ready,
      started: o.alive,
      restartCount,
      state,
      lastState,
    };
  });
  const ready = statuses.every((s) => s.ready);
  const everRan = o.alive || previous?.phase === 'Running';
  const podIP = pod.metadata?.annotations?.[ADDRESS_ANNOTATION] ?? hostIP;
  return {
    phase: everRan ? 'Running' : 'Pending',
    conditions: [
      condition('PodReadyToStartContainers', true, previous?.conditions, now),
      condition('Initialized', true, previous?.conditions, now),
      condition('Ready', ready, previous?.conditions, now),
      condition('ContainersReady', ready, previous?.conditions, now),
      condition('PodScheduled', true, previous?.conditions, now),
    ],
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: previous?.startTime ?? iso(now),
    qosClass: qosClass(pod),
    containerStatuses: statuses,
  };
}

function qosClass(pod: Pod): 'BestEffort' | 'Burstable' | 'Guaranteed' {
  const cs = pod.spec?.containers ?? [];
  const any = cs.some((c) => Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length);
  if (!any) return 'BestEffort';
  const guaranteed = cs.every((c) =>
    ['cpu', 'memory'].every((r) => c.resources?.limits?.[r] !== undefined && (c.resources?.requests?.[r] ?? c.resources.limits[r]) === c.resources.limits[r]),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Would posting `next` change what the API holds (ignoring nothing: times only move on transitions)? */
export function statusChanged(prev: PodStatus | undefined, next: PodStatus): boolean {
  return JSON.stringify(prev ?? {}) !== JSON.stringify(next);
}

/** process_start_time_seconds from a Prometheus text exposition, as a Date. */
export function processStartTime(metrics: string): Date | undefined {
  const m = /^process_start_time_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)/m.exec(metrics);
  const s = m ? Number(m[1]) : NaN;
  return Number.isFinite(s) && s > 0 ? new Date(s * 1000) : undefined;
}
