import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { containerView } from './container-lifecycle.js';
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
