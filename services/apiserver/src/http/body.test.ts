import { describe, expect, it } from 'vitest';
import { jsonDepth, parseJsonBody } from './body.js';
import { parseRoute } from './route.js';

describe('request bodies', () => {
  it('measures nesting without being fooled by strings', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[["}]}')).toBe(3);
  });
  it('refuses deeply nested JSON with a 400 instead of recursing', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(() => parseJsonBody(deep)).toThrow(/exceeded max depth/);
  });
  it('answers malformed JSON with a 400', () => {
    try {
      parseJsonBody('{"a":');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: number }).code).toBe(400);
    }
  });
});

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
