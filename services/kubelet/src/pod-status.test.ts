import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { podStatus, type ContainerInfo, type ContainerState, type InitView, type KubeletPodCondition } from './pod-status.js';

const pod = (restartPolicy: string, conditions?: KubeletPodCondition[]): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  spec: { restartPolicy, containers: [{ name: 'a', image: 'busybox' }] },
  // As the API returns them: lastProbeTime null.
  ...(conditions ? { status: { conditions } as Pod['status'] } : {}),
});
const waiting = (reason = 'ContainerCreating'): ContainerState => ({ kind: 'waiting', reason });
const running: ContainerState = { kind: 'running', startedAt: 't0' };
const exited = (exitCode: number): ContainerState => ({
  kind: 'terminated',
  exitCode,
  reason: exitCode ? 'Error' : 'Completed',
  startedAt: 't0',
  finishedAt: 't1',
});
const info = (name: string, state: ContainerState, o: Partial<ContainerInfo> = {}): ContainerInfo => ({
  name,
  image: 'busybox',
  imageRef: '',
  state,
  restartCount: 0,
  ...o,
});
const initsOf = (...states: ContainerState[]): InitView => ({ inits: states.map((s, i) => info(`init-${i}`, s)), initDone: false });

const net = { podIP: '10.244.1.5', hostIP: '172.28.1.1', startTime: 't0' };
type Want = { phase: string; initialized: string; ready: string; reason?: string };
/** The outcomes the table expects: still starting, initializing, running but not ready, all ready, done. */
const creating: Want = { phase: 'Pending', initialized: 'True', ready: 'False', reason: 'ContainersNotReady' };
const initializing: Want = { ...creating, initialized: 'False' };
const notReady: Want = { ...creating, phase: 'Running' };
const ready: Want = { phase: 'Running', initialized: 'True', ready: 'True' };
const completed = (phase: 'Succeeded' | 'Failed', initialized = 'True'): Want => ({ phase, initialized, ready: 'False', reason: 'PodCompleted' });

describe('pod status from container states', () => {
  it.each<[string, string, ContainerInfo[], InitView | undefined, Want]>([
    ['a container being created', 'Always', [info('a', waiting())], undefined, creating],
    ['one running, one still being created', 'Always', [info('a', running), info('b', waiting())], undefined, creating],
    ['an image that cannot be pulled', 'Always', [info('a', waiting('ImagePullBackOff'))], undefined, creating],
    ['init containers still running', 'Always', [info('a', waiting('PodInitializing'))], initsOf(running), initializing],
    ['a failed init container, restarted (Always)', 'Always', [info('a', waiting('PodInitializing'))], initsOf(exited(1)), initializing],
    ['a failed init container, never restarted (Never)', 'Never', [info('a', waiting('PodInitializing'))], initsOf(exited(1)), completed('Failed', 'False')],
    ['all running and ready', 'Always', [info('a', running), info('b', running)], undefined, ready],
    ['running, a readiness probe failing', 'Always', [info('a', running, { ready: false }), info('b', running)], undefined, notReady],
    ['a container in CrashLoopBackOff', 'Always', [info('a', waiting('CrashLoopBackOff'), { restartCount: 2, lastState: exited(1) })], undefined, notReady],
    ['all exited 0, Always (restarting)', 'Always', [info('a', exited(0))], undefined, notReady],
    ['all exited 0, OnFailure', 'OnFailure', [info('a', exited(0)), info('b', exited(0))], undefined, completed('Succeeded')],
    ['one failed, OnFailure (restarting)', 'OnFailure', [info('a', exited(0)), info('b', exited(2))], undefined, notReady],
    ['all exited 0, Never', 'Never', [info('a', exited(0))], undefined, completed('Succeeded')],
    ['one failed, Never', 'Never', [info('a', exited(0)), info('b', exited(3))], undefined, completed('Failed')],
    ['one still running, one failed, Never', 'Never', [info('a', running), info('b', exited(3))], undefined, notReady],
  ])('%s (%s)', (_what, policy, containers, init, want) => {
    const s = podStatus(pod(policy), containers, net, 'now', init);
    const cond = (type: string) => s.conditions?.find((c) => c.type === type);
    expect(s.phase).toBe(want.phase);
    expect(cond('Initialized')?.status).toBe(want.initialized);
    expect(cond('Ready')?.status).toBe(want.ready);
    expect(cond('ContainersReady')?.status).toBe(want.ready);
    expect(cond('Ready')?.reason).toBe(want.reason);
    expect(cond('ContainersReady')?.reason).toBe(want.reason);
    expect(cond('PodScheduled')?.status).toBe('True');
    expect(cond('PodReadyToStartContainers')?.status).toBe('True');
  });

  it('writes each container’s status as the API has it', () => {
    const s = podStatus(
      pod('Always'),
      [info('a', running, { containerID: 'kemu://x', restartCount: 1, lastState: exited(137) }), info('b', waiting('CrashLoopBackOff'), { restartCount: 3 })],
      net,
      'now',
    );
    expect(s.containerStatuses).toEqual([
      {
        name: 'a',
        image: 'busybox',
        imageID: '',
        containerID: 'kemu://x',
        ready: true,
        started: true,
        restartCount: 1,
        state: { running: { startedAt: 't0' } },
        lastState: { terminated: { exitCode: 137, reason: 'Error', startedAt: 't0', finishedAt: 't1' } },
      },
      {
        name: 'b',
        image: 'busybox',
        imageID: '',
        ready: false,
        started: false,
        restartCount: 3,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: {},
      },
    ]);
    expect(s).toMatchObject({ podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], hostIP: '172.28.1.1', startTime: 't0' });
  });

  it('lists init containers, ready once they exited 0', () => {
    const s = podStatus(pod('Always'), [info('a', waiting('PodInitializing'))], net, 'now', {
      inits: [info('i0', exited(0)), info('i1', running)],
      initDone: false,
    });
    expect(s.initContainerStatuses?.map((c) => [c.name, c.ready])).toEqual([
      ['i0', true],
      ['i1', false],
    ]);
  });

  it('keeps a condition’s lastTransitionTime while its status stays, and moves it when it changes', () => {
    const before = [
      { type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: 'earlier' },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: 'earlier' },
    ];
    const s = podStatus(pod('Always', before), [info('a', running)], net, 'now');
    expect(s.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime).toBe('earlier');
    expect(s.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe('now');
  });
});
