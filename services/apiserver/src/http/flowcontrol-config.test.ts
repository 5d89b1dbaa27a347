import { describe, expect, it } from 'vitest';
import { classify, nominalSeats } from './flowcontrol-config.js';
import { requestInfo } from './request-info.js';

const user = (name: string, ...groups: string[]) => ({ name, groups: [...groups, 'system:authenticated'] });

describe('API Priority and Fairness classification (kube-apiserver bootstrap FlowSchemas)', () => {
  it.each([
    ['system:masters is exempt', user('kubernetes-admin', 'system:masters'), 'GET', '/api/v1/pods', 'exempt', 'exempt'],
    ['probes are exempt', undefined, 'GET', '/readyz', 'probes', 'exempt'],
    [
      'a node renewing its Lease',
      user('system:node:node-1', 'system:nodes'),
      'PUT',
      '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1',
      'system-node-high',
      'node-high',
    ],
    ['a node updating its status', user('system:node:node-1', 'system:nodes'), 'PATCH', '/api/v1/nodes/node-1/status', 'system-node-high', 'node-high'],
    ['a node reading a Secret', user('system:node:node-1', 'system:nodes'), 'GET', '/api/v1/namespaces/default/secrets/s', 'system-nodes', 'system'],
    [
      'the scheduler renewing its lock',
      user('system:kube-scheduler'),
      'PUT',
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler',
      'system-leader-election',
      'leader-election',
    ],
    ['the scheduler binding a pod', user('system:kube-scheduler'), 'POST', '/api/v1/namespaces/default/pods/p/binding', 'kube-scheduler', 'workload-high'],
    ['the controller-manager', user('system:kube-controller-manager'), 'GET', '/apis/apps/v1/deployments', 'kube-controller-manager', 'workload-high'],
    [
      'a kube-system service account',
      user('system:serviceaccount:kube-system:coredns', 'system:serviceaccounts', 'system:serviceaccounts:kube-system'),
      'GET',
      '/api/v1/services',
      'kube-system-service-accounts',
      'workload-high',
    ],
    [
      'another service account',
      user('system:serviceaccount:default:bot', 'system:serviceaccounts', 'system:serviceaccounts:default'),
      'GET',
      '/api/v1/namespaces/default/pods',
      'service-accounts',
      'workload-low',
    ],
    ['any other user', user('jane', 'dev'), 'GET', '/api/v1/namespaces/default/pods', 'global-default', 'global-default'],
    ['anonymous', undefined, 'GET', '/api/v1/pods', 'global-default', 'global-default'],
  ])('%s', (_, u, method, url, schema, level) => {
    const c = classify(u, requestInfo(method, url));
    expect(c.flowSchema.name).toBe(schema);
    expect(c.priorityLevel.name).toBe(level);
  });

  it('tells flows apart by user, or by namespace for the controllers', () => {
    const bot = user('system:serviceaccount:default:bot', 'system:serviceaccounts');
    const other = user('system:serviceaccount:default:other', 'system:serviceaccounts');
    expect(classify(bot, requestInfo('GET', '/api/v1/pods')).flowKey).not.toBe(classify(other, requestInfo('GET', '/api/v1/pods')).flowKey);
    const kcm = user('system:kube-controller-manager');
    expect(classify(kcm, requestInfo('GET', '/api/v1/namespaces/a/pods')).flowKey).not.toBe(
      classify(kcm, requestInfo('GET', '/api/v1/namespaces/b/pods')).flowKey,
    );
  });

  it('gives stable uids', () => {
    const a = classify(undefined, requestInfo('GET', '/api/v1/pods'));
    expect(a.flowSchema.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(classify(undefined, requestInfo('GET', '/api/v1/pods')).flowSchema.uid).toBe(a.flowSchema.uid);
  });

  it("shares kube-apiserver's 600 seats by the levels' shares, rounded up", () => {
    const s = nominalSeats(600);
    expect(Object.fromEntries(s)).toEqual({
      system: 74,
      'node-high': 98,
      'leader-election': 25,
      'workload-high': 98,
      'workload-low': 245,
      'global-default': 49,
      'catch-all': 13,
    });
  });
});
