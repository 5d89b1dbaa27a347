import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@kemu/api';
import { csrMergeSubresource, csrPrepareForCreate } from './csr-strategy.js';

const o = (x: object) => x as KubeObject;

describe('CertificateSigningRequest strategy', () => {
  it('stamps the requester over whatever the request said, and clears the status', () => {
    const out = csrPrepareForCreate(
      o({ metadata: {}, spec: { request: 'x', signerName: 's', username: 'admin', groups: ['system:masters'] }, status: { certificate: 'y' } }),
      {
        name: 'system:bootstrap:abcdef',
        groups: ['system:bootstrappers', 'system:authenticated'],
      },
    );
    expect(out.spec).toEqual({ request: 'x', signerName: 's', username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:authenticated'] });
    expect(out.status).toEqual({});
  });

  it('approval writes only Approved and Denied; status everything else', () => {
    const cur = o({ metadata: {}, spec: { request: 'x' }, status: { conditions: [{ type: 'Failed', status: 'True' }] } });
    const approved = csrMergeSubresource(
      cur,
      o({ metadata: {}, spec: { request: 'changed' }, status: { certificate: 'c', conditions: [{ type: 'Approved', status: 'True' }] } }),
      'approval',
      'now',
    );
    expect(approved.spec).toEqual({ request: 'x' });
    expect(approved.status).toEqual({
      conditions: [
        { type: 'Failed', status: 'True' },
        { type: 'Approved', status: 'True', lastUpdateTime: 'now', lastTransitionTime: 'now' },
      ],
    });
    const signed = csrMergeSubresource(approved, o({ metadata: {}, status: { certificate: 'c', conditions: [] } }), 'status', 'later');
    expect(signed.status).toEqual({ certificate: 'c', conditions: [{ type: 'Approved', status: 'True', lastUpdateTime: 'now', lastTransitionTime: 'now' }] });
  });
});
