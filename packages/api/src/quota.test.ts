import { describe, expect, it } from 'vitest';
import { applyLimitRanges, charge, quotaRefusal } from './quota.js';

const pod = (requests: Record<string, string> = {}, limits: Record<string, string> = {}) => ({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { requests, limits } }] } });
const quota = (hard: Record<string, string>) => ({ metadata: { name: 'q' }, spec: { hard } });

describe('quota', () => {
  it('charges pods for count and compute', () => {
    expect(charge('pods', '', pod({ cpu: '250m', memory: '64Mi' }, { cpu: '1' }))).toEqual({ 'count/pods': 1, pods: 1, 'requests.cpu': 0.25, cpu: 0.25, 'requests.memory': 64 * 2 ** 20, memory: 64 * 2 ** 20, 'limits.cpu': 1 });
    expect(charge('pods', '', { metadata: { name: 'done' }, status: { phase: 'Succeeded' } })).toEqual({});
    expect(charge('services', '', { metadata: {}, spec: { type: 'NodePort', ports: [{}, {}] } })).toMatchObject({ services: 1, 'services.nodeports': 2 });
    expect(charge('deployments', 'apps', { metadata: {} })).toEqual({ 'count/deployments.apps': 1 });
  });
  it.each([
    [{ pods: '3' }, { pods: 2 }, undefined],
    [{ pods: '3' }, { pods: 3 }, 'exceeded quota: q, requested: pods=1, used: pods=3, limited: pods=3'],
    [{ pods: '10', 'requests.cpu': '1' }, { pods: 1, 'requests.cpu': 0.9 }, 'exceeded quota: q, requested: requests.cpu=250m, used: requests.cpu=900m, limited: requests.cpu=1'],
  ])('%j with %j used', (hard, used, want) => {
    expect(quotaRefusal(quota(hard) as never, charge('pods', '', pod({ cpu: '250m' }) as never), used)).toBe(want);
  });
  it('asks for requests under a compute quota', () => {
    expect(quotaRefusal(quota({ 'limits.memory': '1Gi' }) as never, charge('pods', '', pod() as never), {})).toBe('failed quota: q: must specify limits.memory');
  });
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
    [{ maxLimitRequestRatio: { cpu: '2' } }, pod({ cpu: '250m' }, { cpu: '1' }), 'cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000'],
  ])('bounds %j', (limit, p, want) => {
    expect(applyLimitRanges(p as never, lr(limit) as never)).toEqual([want]);
  });
});
