/**
 * kemu's endpoint drain: before it stops a pod that is still a ready endpoint
 * of a Service, the kubelet waits until the pod's endpoints say it is no
 * longer ready and kube-proxy has had a sync to take it out of its rules.
 *
 * Kubernetes does not do this: its kubelet signals the containers as soon as
 * it sees the deletion, racing the EndpointSlice controller and every
 * kube-proxy, so a server that closes its listening socket at once (nginx on
 * SIGQUIT) refuses the few new connections still sent to it; production
 * manifests add a `preStop` sleep for that. kemu closes the race for pods
 * without a preStop hook, so that the tutorials' rolling updates lose no
 * request; a pod with its own preStop hook drains as it says, and
 * `--endpoint-drain-timeout=0` gives Kubernetes' behaviour. The wait is
 * bounded by that timeout and by the pod's grace period, and announced with
 * an event on the pod (see the README, "Where kemu differs").
 */
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { fromLabelSelector, matches } from '@kemu/api';

/**
 * Whether stopping this pod should wait for its endpoints to drain: it was Ready, a Service of its namespace selects
 * it, none of its containers has a preStop hook (which is the pod's own drain), and it has a grace period. Pure.
 */
export function needsDrain(pod: Pod, services: readonly Service[], graceSeconds: number): boolean {
  if (graceSeconds <= 0) return false;
  if (!(pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')) return false;
  if ((pod.spec?.containers ?? []).some((c) => c.lifecycle?.preStop)) return false;
  const ns = pod.metadata?.namespace;
  return services.some((s) => {
    const sel = s.spec?.selector;
    if (s.metadata?.namespace !== ns || !sel || !Object.keys(sel).length || s.spec?.type === 'ExternalName') return false;
    return matches(fromLabelSelector({ matchLabels: sel }), pod.metadata?.labels);
  });
}

/** Whether some EndpointSlice still lists this pod as a ready endpoint (kube-proxy would still send it connections). Pure. */
export function readyEndpoint(podUID: string, slices: readonly EndpointSlice[]): boolean {
  return slices.some((s) => (s.endpoints ?? []).some((e) => e.targetRef?.uid === podUID && e.conditions?.ready !== false));
}

export interface DrainOptions {
  /** The most the drain waits (--endpoint-drain-timeout); 0 turns it off. */
  timeoutMs: number;
  /** After the endpoints say not ready: time for kube-proxy to apply it (its --min-sync-period, 1 s, and a sync). */
  proxyMs: number;
  /** The Services and EndpointSlices the kubelet sees (its informers' caches). */
  services: () => Service[];
  slices: (namespace: string) => EndpointSlice[];
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Wait, before the pod's containers are signalled, for its endpoints to drain (as needsDrain says), at most
 * `timeoutMs` and the grace period. Returns how long it waited (0 when it did not).
 */
export async function drainEndpoints(pod: Pod, graceSeconds: number, o: DrainOptions, onWait?: (maxMs: number) => void): Promise<number> {
  if (o.timeoutMs <= 0 || !needsDrain(pod, o.services(), graceSeconds)) return 0;
  const sleep = o.sleep ?? defaultSleep;
  const now = o.now ?? Date.now;
  const start = now();
  const deadline = start + Math.min(o.timeoutMs, graceSeconds * 1000);
  onWait?.(deadline - start);
  const uid = pod.metadata?.uid ?? '';
  const ns = pod.metadata?.namespace ?? '';
  // First the EndpointSlice controller: the pod's endpoints turn not ready (terminating) in the API.
  while (readyEndpoint(uid, o.slices(ns)) && now() < deadline) await sleep(50);
  // Then kube-proxy, which takes changes at most once per --min-sync-period and has no way to say it is done.
  await sleep(Math.max(0, Math.min(o.proxyMs, deadline - now())));
  return now() - start;
}
