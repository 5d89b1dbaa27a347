import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { StatusError } from '@kemu/api';
import { fromGrpcError } from './api-client.js';

const grpcError = (code: grpc.status, details = '') => Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });

describe('gRPC errors as Kubernetes Status', () => {
  it('turns transport failures into the Status a Kubernetes client would see', () => {
    const late = fromGrpcError(grpcError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'));
    expect(late).toBeInstanceOf(StatusError);
    expect((late as StatusError).status).toMatchObject({ code: 504, reason: 'Timeout' });
    expect((fromGrpcError(grpcError(grpc.status.UNAVAILABLE, 'No connection established')) as StatusError).status).toMatchObject({
      code: 503,
      reason: 'ServiceUnavailable',
    });
  });

  it('keeps the Status the api-server sent', () => {
    const md = new grpc.Metadata();
    md.set('kemu-status-bin', Buffer.from(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'pods "x" not found' })));
    const e = fromGrpcError(Object.assign(new Error('x'), { code: grpc.status.NOT_FOUND, details: 'x', metadata: md }));
    expect((e as StatusError).status).toMatchObject({ code: 404, reason: 'NotFound', message: 'pods "x" not found' });
  });
});
