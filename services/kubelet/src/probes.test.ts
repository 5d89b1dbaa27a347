import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import { ContainerProbes, probedPort, wantsReadinessRun } from './probes.js';

const probe = { exec: { command: ['ready'] }, periodSeconds: 10 };

describe('wantsReadinessRun (the prober manager in UpdatePodStatus)', () => {
  it.each([
    ['running, started, not ready', { readinessProbe: probe }, true, { started: true, ready: false }, true],
    ['already ready', { readinessProbe: probe }, true, { started: true, ready: true }, false],
    ['startup probe not passed yet', { readinessProbe: probe }, true, { started: false, ready: false }, false],
    ['not running', { readinessProbe: probe }, false, { started: true, ready: false }, false],
    ['no readiness probe', {}, true, { started: true, ready: false }, false],
    ['no probes at all', { readinessProbe: probe }, true, undefined, false],
  ] as const)('%s', (_, spec, running, probes, want) => expect(wantsReadinessRun(spec, running, probes)).toBe(want));
});

describe('ContainerProbes.runReadinessNow', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A container whose readiness command fails until `up` is set. */
  function container(extra: Partial<Container['readinessProbe']> = {}) {
    const state = { up: false, runs: 0, changes: 0 };
    const c: Container = { name: 'c', readinessProbe: { ...probe, ...extra } };
    const p = new ContainerProbes(
      c,
      {
        podIP: '10.0.0.1',
        ports: [],
        exec: () => {
          state.runs++;
          return Promise.resolve({ code: state.up ? 0 : 1, output: '', timedOut: false });
        },
      },
      { changed: () => state.changes++, failed: () => undefined, kill: () => undefined },
    );
    return { p, state };
  }

  it('runs the probe at once instead of a period after a failure, and the container becomes ready', async () => {
    const { p, state } = container();
    await vi.advanceTimersByTimeAsync(0);
    expect(state.runs).toBe(1);
    expect(p.ready).toBe(false);
    state.up = true;
    p.runReadinessNow();
    await vi.advanceTimersByTimeAsync(0);
    expect(state.runs).toBe(2);
    expect(p.ready).toBe(true);
    expect(state.changes).toBe(1);
    // The period starts again from the triggered run: no extra run before it.
    await vi.advanceTimersByTimeAsync(9_999);
    expect(state.runs).toBe(2);
    p.stop();
  });

  it('asked during a run, runs once more right after it', async () => {
    let finish: (v: { code: number; output: string; timedOut: boolean }) => void = () => undefined;
    let runs = 0;
    const p = new ContainerProbes(
      { name: 'c', readinessProbe: probe },
      {
        podIP: '10.0.0.1',
        ports: [],
        exec: () => {
          runs++;
          return new Promise((r) => (finish = r));
        },
      },
      { changed: () => undefined, failed: () => undefined, kill: () => undefined },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    p.runReadinessNow();
    p.runReadinessNow(); // one slot: a second ask while one is pending adds nothing
    finish({ code: 1, output: '', timedOut: false });
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(2);
    finish({ code: 1, output: '', timedOut: false });
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(2);
    p.stop();
  });

  it('does nothing within initialDelaySeconds', async () => {
    const { p, state } = container({ initialDelaySeconds: 5 });
    p.runReadinessNow();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(state.runs).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(state.runs).toBe(1);
    p.stop();
  });
});

describe('probedPort (what the first probe waits to be listening on)', () => {
  const ports = [{ name: 'ready', containerPort: 8181 }];
  const cases: [string, Probe, number | undefined][] = [
    ['httpGet by number', { httpGet: { port: 8080, path: '/' } }, 8080],
    ['httpGet by name', { httpGet: { port: 'ready', path: '/ready' } }, 8181],
    ['httpGet to another host: not the pod', { httpGet: { host: '10.0.0.9', port: 80 } }, undefined],
    ['tcpSocket', { tcpSocket: { port: 53 } }, 53],
    ['grpc', { grpc: { port: 9000 } }, 9000],
    ['exec: no port', { exec: { command: ['true'] } }, undefined],
    ['an unknown port name', { httpGet: { port: 'nope' } }, undefined],
  ];
  it.each(cases)('%s', (_, p, want) => expect(probedPort(p, ports)).toBe(want));
});
