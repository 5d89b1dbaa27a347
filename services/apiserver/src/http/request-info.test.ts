import { describe, expect, it } from 'vitest';
import { isLongRunning, requestInfo } from './request-info.js';

describe('request info', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods', 'list'],
    ['GET', '/api/v1/namespaces/default/pods/p', 'get'],
    ['GET', '/api/v1/namespaces/default/pods?watch=true', 'watch'],
    ['GET', '/api/v1/watch/namespaces/default/pods', 'watch'],
    ['POST', '/api/v1/namespaces/default/pods', 'create'],
    ['PUT', '/api/v1/nodes/n/status', 'update'],
    ['PATCH', '/apis/apps/v1/namespaces/d/deployments/web', 'patch'],
    ['DELETE', '/api/v1/namespaces/default/pods/p', 'delete'],
    ['DELETE', '/api/v1/namespaces/default/pods', 'deletecollection'],
    ['GET', '/version', 'get'],
    ['GET', '/api/v1/namespaces/%zz/pods', 'get'],
  ])('%s %s is %s', (method, url, verb) => {
    expect(requestInfo(method, url).verb).toBe(verb);
  });

  it('names the object', () => {
    expect(requestInfo('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1')).toMatchObject({
      isResourceRequest: true,
      apiGroup: 'coordination.k8s.io',
      apiVersion: 'v1',
      resource: 'leases',
      namespace: 'kube-node-lease',
      name: 'node-1',
    });
  });

  it('knows the requests that stay open', () => {
    expect(isLongRunning(requestInfo('GET', '/api/v1/pods?watch=1'))).toBe(true);
    expect(isLongRunning(requestInfo('GET', '/api/v1/namespaces/d/pods/p/log'))).toBe(true);
    expect(isLongRunning(requestInfo('POST', '/api/v1/namespaces/d/pods/p/exec'))).toBe(true);
    expect(isLongRunning(requestInfo('GET', '/api/v1/pods'))).toBe(false);
  });
});
