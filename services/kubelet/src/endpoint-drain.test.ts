import { describe, expect, it } from 'vitest';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { drainEndpoints, needsDrain, readyEndpoint } from './endpoint-drain.js';

const pod = (o: { ready?: boolean; preStop?: boolean; labels?: Record<string, string> } = {}): Pod => ({
  metadata: { name: 'web-1', namespace: 'ns', uid: 'u1', labels: o.labels ?? { app: 'web' } },
  spec: { containers: [{ name: 'nginx', ...(o.preStop ? { lifecycle: { preStop: { sleep: { seconds: 5 } } } } : {}) }] },
  status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});
const svc = (selector: Record<string, string> | undefined, o: { ns?: string; type?: string } = {}): Service => ({
  metadata: { name: 'web', namespace: o.ns ?? 'ns' },
  spec: { ...(selector ? { selector } : {}), ...(o.type ? { type: o.type } : {}) },
});
const slice = (ready: boolean | undefined, uid = 'u1'): EndpointSlice => ({
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.244.1.5'], targetRef: { kind: 'Pod', uid }, conditions: ready === undefined ? {} : { ready } }],
});

describe('needsDrain', () => {
  it.each([
    ['a ready pod a Service selects', pod(), [svc({ app: 'web' })], 30, true],
    ['no grace period (force delete)', pod(), [svc({ app: 'web' })], 0, false],
    ['not ready: no endpoint sends it anything', pod({ ready: false }), [svc({ app: 'web' })], 30, false],
    ['its own preStop hook drains it', pod({ preStop: true }), [svc({ app: 'web' })], 30, false],
    ['no Service selects it', pod(), [svc({ app: 'db' })], 30, false],
    ['a Service of another namespace', pod(), [svc({ app: 'web' }, { ns: 'other' })], 30, false],
    ['a selectorless Service', pod(), [svc(undefined)], 30, false],
    ['an empty selector selects nothing', pod(), [svc({})], 30, false],
    ['an ExternalName Service', pod(), [svc({ app: 'web' }, { type: 'ExternalName' })], 30, false],
  ] as const)('%s', (_, p, services, grace, want) => expect(needsDrain(p, services, grace)).toBe(want));
});

describe('readyEndpoint', () => {
  it.each([
    ['ready', [slice(true)], true],
    ['ready unset counts as ready', [slice(undefined)], true],
    ['terminating, not ready', [slice(false)], false],
    ["another pod's endpoint", [slice(true, 'u2')], false],
    ['no slice', [], false],
  ] as const)('%s', (_, slices, want) => expect(readyEndpoint('u1', slices)).toBe(want));
});

describe('drainEndpoints', () => {
  /** A fake clock: sleep advances it; the slice turns not ready after `notReadyAfter` ms. */
  function run(o: { notReadyAfter: number; timeoutMs?: number; grace?: number; services?: Service[] }) {
    let t = 0;
    const waits: number[] = [];
    const done = drainEndpoints(
      pod(),
      o.grace ?? 30,
      {
        timeoutMs: o.timeoutMs ?? 3000,
        proxyMs: 1500,
        services: () => o.services ?? [svc({ app: 'web' })],
        slices: () => [slice(t < o.notReadyAfter)],
        sleep: (ms) => {
          t += ms;
          return Promise.resolve();
        },
        now: () => t,
      },
      (max) => waits.push(max),
    );
    return done.then((waited) => ({ waited, announced: waits }));
  }

  it('waits for the endpoint to turn not ready, then for a kube-proxy sync', async () => {
    expect(await run({ notReadyAfter: 400 })).toEqual({ waited: 1900, announced: [3000] });
  });
  it('never longer than the timeout', async () => {
    expect(await run({ notReadyAfter: 60_000 })).toEqual({ waited: 3000, announced: [3000] });
  });
  it('never longer than the grace period', async () => {
    expect(await run({ notReadyAfter: 60_000, grace: 1 })).toEqual({ waited: 1000, announced: [1000] });
  });
  it('not at all when turned off, or for a pod no Service selects', async () => {
    expect(await run({ notReadyAfter: 400, timeoutMs: 0 })).toEqual({ waited: 0, announced: [] });
    expect(await run({ notReadyAfter: 400, services: [] })).toEqual({ waited: 0, announced: [] });
  });
});
