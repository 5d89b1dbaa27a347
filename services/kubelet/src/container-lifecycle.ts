/**
 * One container of a pod seen from the kubelet: running a command in it
 * (exec probes, hooks), its lifecycle hooks, stopping it (preStop within
 * the grace period, SIGTERM, the rest of the grace period, SIGKILL), and
 * how its state shows in the pod's status (CrashLoopBackOff while backing
 * off, readiness from its probes).
 */
import type { Container as ContainerSpec, LifecycleHandler, Pod } from 'kubernetes-types/core/v1.js';
import type { ContainerInfo } from './pod-status.js';
import type { Container } from './pod-sandbox.js';
import { execCapture } from './runtime/exec.js';
import { runHandler } from './probes.js';

export async function execInContainer(ctr: Container, argv: string[], timeoutMs: number) {
  const pid = await ctr.handle?.waitProgramPid(1000);
  if (!pid) return { code: 1, output: 'container not running', timedOut: false };
  return execCapture(pid, argv, ctr.env, timeoutMs);
}

export function runHook(ctr: Container, spec: ContainerSpec, h: LifecycleHandler, timeoutMs: number, podIP: string) {
  return runHandler(h, { podIP, ports: spec.ports ?? [], exec: (argv, t) => execInContainer(ctr, argv, t) }, timeoutMs);
}

/** preStop within the grace period, the image's stop signal (SIGTERM by default), the rest of the grace period, SIGKILL. */
export async function stopContainer(ctr: Container, spec: ContainerSpec | undefined, graceSeconds: number, podIP: string): Promise<void> {
  const handle = ctr.handle;
  if (!handle) return;
  const deadline = Date.now() + graceSeconds * 1000;
  const grace = () => new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
  const preStop = spec?.lifecycle?.preStop;
  if (spec && preStop && graceSeconds > 0) await Promise.race([runHook(ctr, spec, preStop, graceSeconds * 1000, podIP), grace()]);
  handle.stop();
  // A program started with `&` by the container's shell inherits SIGINT and SIGQUIT ignored until it installs its own
  // handlers: nginx's SIGQUIT sent in its first moments (a pod deleted as it starts) is lost, and the pod would wait
  // out its grace period. Those two are sent again each second (a second SIGQUIT is no news to nginx); SIGTERM's
  // default action ends a program that has no handler yet, so it is sent once.
  const resend = handle.stopSignal === 'SIGQUIT' || handle.stopSignal === 'SIGINT';
  let gone = false;
  void handle.exited.then(() => (gone = true));
  while (resend && !gone && Date.now() < deadline) {
    await Promise.race([handle.exited, new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))))]);
    if (!gone && Date.now() < deadline) handle.stop();
  }
  await Promise.race([handle.exited, grace()]);
  handle.signal('SIGKILL');
  await handle.exited;
}

/** How a container shows in the pod's status. Pure. */
export function containerView(
  pod: Pod,
  spec: ContainerSpec,
  ctr: Container | undefined,
  o: { initDone: boolean; isInit: boolean; backoffMs: (restarts: number) => number; now?: number },
): ContainerInfo {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (!ctr)
    return {
      name: spec.name,
      image: spec.image ?? '',
      imageRef: '',
      state: { kind: 'waiting', reason: o.isInit || o.initDone ? 'ContainerCreating' : 'PodInitializing' },
      restartCount: 0,
    };
  const failed = ctr.info.state.kind === 'terminated' && ctr.info.state.exitCode !== 0;
  const restarting = !ctr.handle && ctr.info.state.kind === 'terminated' && ctr.backoffUntil !== undefined && ctr.backoffUntil > (o.now ?? Date.now());
  // Init containers restart on failure unless the pod's policy is Never.
  if (restarting && (ctr.init ? failed && policy !== 'Never' : policy === 'Always' || (policy === 'OnFailure' && failed))) {
    const message = `back-off ${Math.round(o.backoffMs(ctr.info.restartCount) / 1000)}s restarting failed container=${spec.name} pod=${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`;
    return { ...ctr.info, lastState: ctr.info.state, state: { kind: 'waiting', reason: 'CrashLoopBackOff', message }, restartCount: ctr.info.restartCount };
  }
  return {
    ...ctr.info,
    ready: ctr.handle ? (ctr.probes ? ctr.probes.ready : true) && !ctr.portsPending : false,
    started: ctr.handle ? (ctr.probes ? ctr.probes.started : true) : false,
  };
}
