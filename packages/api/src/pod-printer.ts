/**
 * The pod columns of `kubectl get pods` — READY, STATUS, RESTARTS — as
 * Kubernetes' printPod computes them (pkg/printers/internalversion), so that
 * a pod reads the same here as on a real cluster: ContainerCreating,
 * CrashLoopBackOff, Init:0/1, Completed, Error, Terminating, Unknown...
 */
import type { Container, ContainerStatus, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { humanDuration } from './duration.js';
import { parseTime } from './time.js';

/** The numbers and words behind one pod's row. */
export interface PodSummary {
  ready: number;
  total: number;
  status: string;
  restarts: number;
  /** When a container last stopped before a restart (ms since the epoch), 0 when none did. */
  lastRestart: number;
}

const restartable = (c: Container | undefined): boolean => c?.restartPolicy === 'Always';
const conditionTrue = (conds: PodCondition[] | undefined, type: string): boolean => (conds ?? []).some((c) => c.type === type && c.status === 'True');
const finishedAt = (c: ContainerStatus): number => parseTime(c.lastState?.terminated?.finishedAt) ?? 0;

/** Kubernetes' printPod, without the columns that are plain fields. */
export function summarizePod(pod: Pod): PodSummary {
  const st = pod.status ?? {};
  const phase = st.phase ?? '';
  let reason: string = st.reason || phase;
  // A pod held back by scheduling gates says so.
  if ((st.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  const initSpecs = new Map((pod.spec?.initContainers ?? []).map((c) => [c.name, c]));
  // Sidecars (init containers that keep running) count among the pod's containers.
  const total = (pod.spec?.containers ?? []).length + [...initSpecs.values()].filter(restartable).length;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let sidecarRestarts = 0;
  let sidecarLastRestart = 0;

  let initializing = false;
  const inits = st.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    const sidecar = restartable(initSpecs.get(c.name));
    restarts += c.restartCount ?? 0;
    lastRestart = Math.max(lastRestart, finishedAt(c));
    if (sidecar) {
      sidecarRestarts += c.restartCount ?? 0;
      sidecarLastRestart = Math.max(sidecarLastRestart, finishedAt(c));
    }
    const term = c.state?.terminated;
    const wait = c.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (sidecar && c.started) {
      if (c.ready) ready++;
      continue;
    }
    if (term) reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    else if (wait?.reason && wait.reason !== 'PodInitializing') reason = `Init:${wait.reason}`;
    else reason = `Init:${i}/${initSpecs.size}`;
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(st.conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = sidecarLastRestart;
    let hasRunning = false;
    let errorReason = '';
    // Backwards, so that the first container's state is the one shown.
    for (const c of [...(st.containerStatuses ?? [])].reverse()) {
      restarts += c.restartCount ?? 0;
      lastRestart = Math.max(lastRestart, finishedAt(c));
      const term = c.state?.terminated;
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (term) {
        reason = term.reason || (term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`);
        if (term.exitCode !== 0) errorReason = reason;
      } else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed') {
      if (hasRunning && conditionTrue(st.conditions, 'Ready')) reason = 'Running';
      else if (errorReason) reason = errorReason;
      else if (hasRunning) reason = 'NotReady';
    }
  }

  if (pod.metadata?.deletionTimestamp && st.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';
  return { ready, total, status: reason, restarts, lastRestart };
}

/** kubectl's pod STATUS column. */
export function podStatusText(pod: Pod): string {
  return summarizePod(pod).status;
}

/** The RESTARTS column: `3`, or `3 (42s ago)` once a restart's time is known. */
export function restartsText(s: PodSummary, now: number): string {
  return s.restarts && s.lastRestart ? `${s.restarts} (${humanDuration(now - s.lastRestart)} ago)` : String(s.restarts);
}

/** The wide READINESS GATES column: how many of the pod's gates are True, `1/2`, or `<none>`. */
export function readinessGatesText(pod: Pod): string {
  const gates = pod.spec?.readinessGates ?? [];
  if (!gates.length) return '<none>';
  const conds = pod.status?.conditions ?? [];
  const met = gates.filter((g) => conds.find((c) => c.type === g.conditionType)?.status === 'True').length;
  return `${met}/${gates.length}`;
}
