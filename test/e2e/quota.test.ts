/** ResourceQuota and LimitRange: admission with Kubernetes' messages, and quota status kept true. */
import { describe, expect, it } from 'vitest';
import { k, kubectl, namespace, waitFor } from './helpers.js';

describe('quota and limit ranges', () => {
  it('gives a ReplicationController asking for 4 pods under a quota of 3 exactly 3, and says why', async () => {
    const ns = await namespace('quota');
    await k(['create', 'quota', 'test-quotas', '-n', ns, '--hard=pods=3,services=1,requests.cpu=1']);
    await k(['apply', '-n', ns, '-f', '-'], {
      input:
        'apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc-quota}\nspec:\n  replicas: 4\n  template:\n    metadata: {labels: {app: q}}\n    spec:\n      containers: [{name: c, image: nginx, resources: {requests: {cpu: 100m}}}]\n',
    });
    await waitFor('3 pods', async () => (await k(['get', 'pods', '-n', ns, '-o', 'name'])).split('\n').filter(Boolean).length === 3);
    const describe = await waitFor('FailedCreate', async () => {
      const out = await k(['describe', 'rc', 'rc-quota', '-n', ns]);
      return out.includes('FailedCreate') && out;
    });
    expect(describe).toMatch(
      /Warning\s+FailedCreate\s+.*Error creating: pods "rc-quota-[a-z0-9]{5}" is forbidden: exceeded quota: test-quotas, requested: pods=1, used: pods=3, limited: pods=3/,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await k(['get', 'pods', '-n', ns, '-o', 'name'])).split('\n').filter(Boolean)).toHaveLength(3);
    await waitFor('quota status', async () => /pods: 3\/3/.test(await k(['get', 'quota', '-n', ns])));
    expect(await k(['get', 'quota', 'test-quotas', '-n', ns, '-o', 'jsonpath={.status.used}'])).toBe('{"pods":"3","requests.cpu":"300m","services":"0"}');
    const svc1 = await kubectl(['create', 'service', 'clusterip', 's1', '--tcp=80:80', '-n', ns]);
    expect(svc1.exitCode).toBe(0);
    const svc2 = await kubectl(['create', 'service', 'clusterip', 's2', '--tcp=80:80', '-n', ns]);
    expect(svc2.stderr).toContain('services "s2" is forbidden: exceeded quota: test-quotas, requested: services=1, used: services=1, limited: services=1');
  });

  it('refuses a pod without requests under a compute quota', async () => {
    const ns = await namespace('quota-compute');
    await k(['create', 'quota', 'compute', '-n', ns, '--hard=requests.cpu=1,limits.memory=1Gi']);
    const r = await kubectl(['run', 'bare', '-n', ns, '--image=nginx']);
    expect(r.stderr).toContain('pods "bare" is forbidden: failed quota: compute: must specify limits.memory,requests.cpu');
  });

  it('defaults container resources from a LimitRange and enforces its bounds', async () => {
    const ns = await namespace('limits');
    await k(['apply', '-n', ns, '-f', '-'], {
      input:
        'apiVersion: v1\nkind: LimitRange\nmetadata: {name: lr}\nspec:\n  limits:\n  - type: Container\n    max: {cpu: "1", memory: 1Gi}\n    min: {cpu: 100m}\n    default: {cpu: 500m, memory: 256Mi}\n    defaultRequest: {cpu: 200m, memory: 128Mi}\n',
    });
    await k(['run', 'ok', '-n', ns, '--image=nginx']);
    expect(await k(['get', 'pod', 'ok', '-n', ns, '-o', 'jsonpath={.spec.containers[0].resources}'])).toBe(
      '{"limits":{"cpu":"500m","memory":"256Mi"},"requests":{"cpu":"200m","memory":"128Mi"}}',
    );
    expect(await k(['get', 'pod', 'ok', '-n', ns, '-o', 'jsonpath={.status.qosClass}'])).toBe('Burstable');
    const big = await kubectl([
      'run',
      'big',
      '-n',
      ns,
      '--image=nginx',
      '--overrides={"spec":{"containers":[{"name":"big","image":"nginx","resources":{"limits":{"cpu":"2"}}}]}}',
    ]);
    expect(big.stderr).toContain('pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
    const small = await kubectl([
      'run',
      'small',
      '-n',
      ns,
      '--image=nginx',
      '--overrides={"spec":{"containers":[{"name":"small","image":"nginx","resources":{"requests":{"cpu":"50m"}}}]}}',
    ]);
    expect(small.stderr).toContain('minimum cpu usage per Container is 100m, but request is 50m');
  });
});
