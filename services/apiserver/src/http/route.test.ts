import { describe, expect, it } from 'vitest';
import { parseRoute } from './route.js';

describe('routes', () => {
  it.each([
    ['/api/v1/namespaces/default/pods', { resource: 'pods', namespace: 'default', name: undefined }],
    ['/api/v1/namespaces/default/pods/p/status', { resource: 'pods', namespace: 'default', name: 'p', subresource: 'status' }],
    ['/api/v1/namespaces/foo', { resource: 'namespaces', name: 'foo' }],
    ['/api/v1/namespaces/foo/finalize', { resource: 'namespaces', name: 'foo', subresource: 'finalize' }],
    ['/apis/apps/v1/deployments', { resource: 'deployments', namespace: undefined }],
    ['/api/v1/watch/namespaces/x/configmaps', { resource: 'configmaps', namespace: 'x' }],
  ])('%s', (path, want) => {
    const r = parseRoute(path);
    expect(r.kind).toBe('resource');
    if (r.kind !== 'resource') return;
    expect({ resource: r.req.info.resource, namespace: r.req.namespace, name: r.req.name, subresource: r.req.subresource }).toMatchObject(want);
  });
  it('knows unknown paths', () => {
    expect(parseRoute('/apis/nope/v1/things').kind).toBe('unknown');
    expect(parseRoute('/apis/apps/v1').kind).toBe('groupVersion');
  });
});
