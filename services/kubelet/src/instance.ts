/**
 * One container instance seen from the kubelet: running a command in it
 * (exec probes, hooks), its lifecycle hooks, stopping it (preStop within
 * the grace period, SIGTERM, the rest of the grace period, SIGKILL), and
 * how its state shows in the pod's status (CrashLoopBackOff while backing
 * off, readiness from its probes).
 */
import type { KubeObject } from '@kemu/api';
import type { ContainerInfo } from './pod-status.js';
import type { Instance } from './pod-runtime.js';
import { execCapture } from './runtime/exec.js';
import { runHandler } from './probes.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function execInInstance(inst: Instance, argv: string[], timeoutMs: number) {
  const pid = await inst.proc?.waitProgramPid(1000);
  if (!pid) return { code: 1, output: 'container not running', timedOut: false };
  return execCapture(pid, argv, inst.env, timeoutMs);
}

export function runHook(inst: Instance, c: Obj, h: Obj, timeoutMs: number, podIP: string) {
  return runHandler(h, { podIP, ports: c.ports ?? [], exec: (argv, t) => execInInstance(inst, argv, t) }, timeoutMs);
}

/** preStop within the grace period, SIGTERM, the rest of the grace period, SIGKILL. */
export async function stopInstance(inst: Instance, c: Obj | undefined, graceSeconds: number, podIP: string): Promise<void> {
  const proc = inst.proc;
  if (!proc) return;
  const deadline = Date.now() + graceSeconds * 1000;
  const grace = () => new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
  if (c?.lifecycle?.preStop && graceSeconds > 0) await Promise.race([runHook(inst, c, c.lifecycle.preStop, graceSeconds * 1000, podIP), grace()]);
  proc.signal('SIGTERM');
  await Promise.race([proc.exited, grace()]);
  proc.signal('SIGKILL');
  await proc.exited;
}

/** How a container shows in the pod's status. Pure. */
export function containerView(pod: KubeObject, c: Obj, r: Instance | undefined, o: { initDone: boolean; isInit: boolean; backoffMs: (restarts: number) => number; now?: number }): ContainerInfo {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (!r) return { name: c.name, image: c.image, imageRef: '', state: { kind: 'waiting', reason: o.isInit || o.initDone ? 'ContainerCreating' : 'PodInitializing' }, restartCount: 0 };
  const failed = r.info.state.kind === 'terminated' && r.info.state.exitCode !== 0;
  const restarting = !r.proc && r.info.state.kind === 'terminated' && r.backoffUntil !== undefined && r.backoffUntil > (o.now ?? Date.now());
  // Init containers restart on failure unless the pod's policy is Never.
  if (restarting && (r.init ? failed && policy !== 'Never' : policy === 'Always' || (policy === 'OnFailure' && failed))) {
    const message = `back-off ${Math.round(o.backoffMs(r.info.restartCount) / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
    return { ...r.info, lastState: r.info.state, state: { kind: 'waiting', reason: 'CrashLoopBackOff', message }, restartCount: r.info.restartCount };
  }
  return { ...r.info, ready: r.proc ? (r.probes ? r.probes.ready : true) : false, started: r.proc ? (r.probes ? r.probes.started : true) : false };
}
