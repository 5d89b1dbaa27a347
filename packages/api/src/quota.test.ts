import { describe, expect, it } from 'vitest';
import { addUsage, applyLimitRanges, charge, quotaRefusal, show } from './quota.js';

const pod = (requests: Record<string, string> = {}, limits: Record<string, string> = {}) => ({
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c', resources: { requests, limits } }] },
});
const quota = (hard: Record<string, string>) => ({ metadata: { name: 'q' }, spec: { hard } });

describe('quota', () => {
  it('charges pods for count and compute', () => {
    const mem = 64n * 2n ** 20n * 1000n;
    expect(charge('pods', '', pod({ cpu: '250m', memory: '64Mi' }, { cpu: '1' }))).toEqual({
      'count/pods': 1000n,
      pods: 1000n,
      'requests.cpu': 250n,
      cpu: 250n,
      'requests.memory': mem,
      memory: mem,
      'limits.cpu': 1000n,
    });
    expect(charge('pods', '', { metadata: { name: 'done' }, status: { phase: 'Succeeded' } })).toEqual({});
    expect(charge('services', '', { metadata: {}, spec: { type: 'NodePort', ports: [{}, {}] } })).toMatchObject({
      services: 1000n,
      'services.nodeports': 2000n,
    });
    expect(charge('deployments', 'apps', { metadata: {} })).toEqual({ 'count/deployments.apps': 1000n });
  });
  it.each([
    [{ pods: '3' }, { pods: 2000n }, undefined],
    [{ pods: '3' }, { pods: 3000n }, 'exceeded quota: q, requested: pods=1, used: pods=3, limited: pods=3'],
    [
      { pods: '10', 'requests.cpu': '1' },
      { pods: 1000n, 'requests.cpu': 900n },
      'exceeded quota: q, requested: requests.cpu=250m, used: requests.cpu=900m, limited: requests.cpu=1',
    ],
    // Exactly full is not over: 750m + 250m = 1, with no float rounding to forgive.
    [{ 'requests.cpu': '1' }, { 'requests.cpu': 750n }, undefined],
    [{ 'requests.cpu': '1' }, { 'requests.cpu': 751n }, 'exceeded quota: q, requested: requests.cpu=250m, used: requests.cpu=751m, limited: requests.cpu=1'],
  ])('%j with %o used', (hard, used, want) => {
    expect(quotaRefusal(quota(hard) as never, charge('pods', '', pod({ cpu: '250m' }) as never), used)).toBe(want);
  });
  it('asks for requests under a compute quota', () => {
    expect(quotaRefusal(quota({ 'limits.memory': '1Gi' }) as never, charge('pods', '', pod() as never), {})).toBe(
      'failed quota: q: must specify limits.memory',
    );
  });
});

describe('usage', () => {
  it('sums exactly: three pods of 100m use 300m', () => {
    const one = charge('pods', '', pod({ cpu: '100m', memory: '0.1Gi' }));
    const three = addUsage(addUsage(one, one), one);
    expect(three['requests.cpu']).toBe(300n);
    expect(show('requests.cpu', three['requests.cpu'])).toBe('300m');
    expect(addUsage(three, one, -1)['requests.cpu']).toBe(200n);
  });
  it.each([
    ['requests.cpu', 250n, '250m'],
    ['requests.cpu', 2000n, '2'],
    ['pods', 3000n, '3'],
    ['pods', 1_000_000n, '1k'],
    ['requests.memory', 64n * 2n ** 20n * 1000n, '64Mi'],
    ['limits.memory', 10n ** 11n, '100M'],
    ['requests.storage', 1536n * 2n ** 20n * 1000n, '1536Mi'],
    ['requests.cpu', 0, '0'],
  ])('shows %s %d as %s', (r, m, want) => expect(show(r, m)).toBe(want));
});

describe('limit ranges', () => {
  const lr = (limit: object) => [{ metadata: { name: 'lr' }, spec: { limits: [{ type: 'Container', ...limit }] } }];
  it('fills defaults', () => {
    const p = pod() as never as { spec: { containers: { resources: object }[] } };
    expect(applyLimitRanges(p as never, lr({ default: { cpu: '500m' }, defaultRequest: { cpu: '100m' } }) as never)).toEqual([]);
    expect(p.spec.containers[0].resources).toEqual({ requests: { cpu: '100m' }, limits: { cpu: '500m' } });
  });
  it.each([
    [{ max: { cpu: '1' } }, pod({}, { cpu: '2' }), 'maximum cpu usage per Container is 1, but limit is 2'],
    [{ min: { memory: '64Mi' } }, pod({ memory: '32Mi' }), 'minimum memory usage per Container is 64Mi, but request is 32Mi'],
    [
      { maxLimitRequestRatio: { cpu: '2' } },
      pod({ cpu: '250m' }, { cpu: '1' }),
      'cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000',
    ],
  ])('bounds %j', (limit, p, want) => {
    expect(applyLimitRanges(p as never, lr(limit) as never)).toEqual([want]);
  });
  it("sums a pod's containers exactly for a Pod limit", () => {
    const p = {
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'a', resources: { requests: { cpu: '100m' } } },
          { name: 'b', resources: { requests: { cpu: '200m' } } },
        ],
      },
    };
    const podLimit = [{ metadata: { name: 'lr' }, spec: { limits: [{ type: 'Pod', min: { cpu: '500m' } }] } }];
    expect(applyLimitRanges(p as never, podLimit as never)).toEqual(['minimum cpu usage per Pod is 500m, but request is 300m']);
  });
});
