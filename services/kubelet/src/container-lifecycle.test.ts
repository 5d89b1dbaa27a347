import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { containerView, stopContainer } from './container-lifecycle.js';
import type { Container } from './pod-sandbox.js';

const pod = (restartPolicy: string): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  spec: { restartPolicy, containers: [{ name: 'c', image: 'busybox' }] },
});
const c = { name: 'c', image: 'busybox' };
const ended = (exitCode: number, init = false, backoffUntil?: number): Container => ({
  name: 'c',
  init,
  id: 'x',
  env: {},
  logPath: '',
  backoffUntil,
  info: {
    name: 'c',
    image: 'busybox',
    imageRef: 'docker.io/library/busybox:latest',
    state: { kind: 'terminated', exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: 't0', finishedAt: 't1' },
    restartCount: 2,
  },
});
const o = { initDone: true, isInit: false, backoffMs: () => 40_000, now: 1000 };

describe('how a container shows in the pod status', () => {
  it('waits as ContainerCreating, or PodInitializing behind init containers', () => {
    expect(containerView(pod('Always'), c, undefined, o).state).toEqual({ kind: 'waiting', reason: 'ContainerCreating' });
    expect(containerView(pod('Always'), c, undefined, { ...o, initDone: false }).state).toEqual({ kind: 'waiting', reason: 'PodInitializing' });
  });
  it('shows CrashLoopBackOff only while backing off a restart the policy wants', () => {
    const v = containerView(pod('Always'), c, ended(0, false, 5000), o);
    expect(v.state).toMatchObject({ kind: 'waiting', reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=c pod=p_ns(u)' });
    expect(v.lastState).toMatchObject({ kind: 'terminated', exitCode: 0 });
    expect(containerView(pod('OnFailure'), c, ended(0, false, 5000), o).state.kind).toBe('terminated');
    expect(containerView(pod('OnFailure'), c, ended(1, false, 5000), o).state.kind).toBe('waiting');
    expect(containerView(pod('Never'), c, ended(1, false, 5000), o).state.kind).toBe('terminated');
    expect(containerView(pod('Always'), c, ended(1, false, 500), o).state.kind).toBe('terminated'); // back-off over: restarting now
  });
  it('restarts failed init containers unless the policy is Never', () => {
    expect(containerView(pod('Always'), c, ended(1, true, 5000), { ...o, isInit: true }).state.kind).toBe('waiting');
    expect(containerView(pod('Never'), c, ended(1, true, 5000), { ...o, isInit: true }).state.kind).toBe('terminated');
    expect(containerView(pod('Always'), c, ended(0, true), { ...o, isInit: true }).state.kind).toBe('terminated');
  });
  it('is running but not ready while its declared ports do not listen yet (no readiness probe)', () => {
    const running = (portsPending?: boolean): Container => ({
      ...ended(0),
      handle: {} as Container['handle'],
      info: { ...ended(0).info, state: { kind: 'running', startedAt: 't0' } },
      ...(portsPending === undefined ? {} : { portsPending }),
    });
    expect(containerView(pod('Always'), c, running(true), o)).toMatchObject({ state: { kind: 'running' }, ready: false, started: true });
    expect(containerView(pod('Always'), c, running(false), o)).toMatchObject({ ready: true });
    expect(containerView(pod('Always'), c, running(), o)).toMatchObject({ ready: true });
  });
});

describe('stopContainer', () => {
  /** A handle whose program ignores the first `ignored` stop signals (not yet set up to handle them), then exits. */
  const handle = (stopSignal: NodeJS.Signals | undefined, ignored: number) => {
    const sent: string[] = [];
    let end!: (x: { code: number }) => void;
    const exited = new Promise<{ code: number }>((r) => (end = r));
    const h = {
      id: 'x',
      dir: '',
      pid: 1,
      startTicks: '',
      stopSignal,
      exited,
      fifos: { out: '' },
      signal: (s: NodeJS.Signals) => {
        sent.push(s);
        if (s === 'SIGKILL') end({ code: 137 });
      },
      stop: () => {
        sent.push(stopSignal ?? 'SIGTERM');
        if (sent.length > ignored) end({ code: 0 });
      },
      programPid: () => undefined,
      waitProgramPid: () => Promise.resolve(undefined),
      writeStdin: () => undefined,
      closeStdin: () => undefined,
    };
    return { sent, ctr: { ...ended(0), handle: h } as unknown as Container };
  };

  it("sends nginx's SIGQUIT again when its first one came before the program could handle it", async () => {
    const { sent, ctr } = handle('SIGQUIT', 1);
    await stopContainer(ctr, c, 30, '10.0.0.1');
    // Stopped by the second, well within the grace period; the last SIGKILL is for what the group may have left.
    expect(sent).toEqual(['SIGQUIT', 'SIGQUIT', 'SIGKILL']);
  });

  it('sends SIGTERM once, then SIGKILL when the grace period is over', async () => {
    const { sent, ctr } = handle(undefined, 5);
    await stopContainer(ctr, c, 1, '10.0.0.1');
    expect(sent).toEqual(['SIGTERM', 'SIGKILL']);
  });
});
