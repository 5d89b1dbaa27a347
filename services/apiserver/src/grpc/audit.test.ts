import { describe, expect, it } from 'vitest';
import { forbidden } from '@kemu/api';
import { bodyOf, callInfo, failure, peerIP, responseOf, restURI } from './audit.js';

describe("a gRPC call in its REST twin's terms", () => {
  it('the RequestInfo and REST URI of a call, as asked', () => {
    const i = callInfo('/kemu.ApiServer/Update', 'update', { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'prod' }, 'web', 'scale');
    expect(i).toMatchObject({
      isResourceRequest: true,
      verb: 'update',
      apiGroup: 'apps',
      resource: 'deployments',
      namespace: 'prod',
      name: 'web',
      subresource: 'scale',
    });
    expect(restURI(i)).toBe('/apis/apps/v1/namespaces/prod/deployments/web/scale');
    expect(restURI(callInfo('/kemu.ApiServer/Watch', 'watch', { group: '', version: 'v1', resource: 'nodes', namespace: '' }))).toBe(
      '/api/v1/nodes?watch=true',
    );
  });

  it("the peer's address without its port", () => {
    expect(peerIP('172.23.0.9:40123')).toEqual(['172.23.0.9']);
    expect(peerIP('ipv4:10.0.0.1:443')).toEqual(['10.0.0.1']);
    expect(peerIP('[::1]:5000')).toEqual(['::1']);
    expect(peerIP('[::ffff:10.1.2.3]:5000')).toEqual(['10.1.2.3']);
    expect(peerIP('')).toEqual([]);
  });

  it("a failure's code and Status; what is not a Status is a 500", () => {
    expect(failure(forbidden('pods', '', 'web', 'no'))).toMatchObject({ code: 403, response: { kind: 'Status', reason: 'Forbidden' } });
    expect(failure(new Error('etcd down'))).toMatchObject({ code: 500, response: { code: 500, message: expect.stringContaining('etcd down') as string } });
  });

  it('the bodies: JSON as sent, an object answered, a list as a List', () => {
    const j = (o: unknown) => Buffer.from(JSON.stringify(o));
    expect(bodyOf(j({ a: 1 }))).toEqual({ a: 1 });
    expect(bodyOf(Buffer.from('not json'))).toBeUndefined();
    expect(responseOf({ object: { json: j({ kind: 'Pod' }) } })).toEqual({ kind: 'Pod' });
    expect(responseOf({ items: [{ json: j({ kind: 'Pod' }) }], resourceVersion: '9', continue: '' })).toEqual({
      kind: 'List',
      apiVersion: 'v1',
      metadata: { resourceVersion: '9' },
      items: [{ kind: 'Pod' }],
    });
  });
});
