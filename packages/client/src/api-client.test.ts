import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { StatusError } from '@kemu/api';
import { fromGrpcError, retryAfterMs, withRetries } from './api-client.js';

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

const tooMany = (retryAfterSeconds?: number) =>
  new StatusError(429, 'TooManyRequests', 'Too many requests, please try again later.', retryAfterSeconds === undefined ? undefined : { retryAfterSeconds });

/** An attempt that fails with `errors` in turn, then answers 'ok'; and the waits asked for between attempts. */
function script(errors: Error[]) {
  let attempts = 0;
  const waits: number[] = [];
  const attempt = () => {
    attempts++;
    const e = errors.shift();
    return e ? Promise.reject(e) : Promise.resolve('ok');
  };
  return { attempt, sleep: (ms: number) => (waits.push(ms), Promise.resolve()), waits, attempts: () => attempts };
}

describe('retrying a call the api-server refused with a Retry-After', () => {
  it.each([
    ['429 with retryAfterSeconds', tooMany(2), 2000],
    ['a 5xx with retryAfterSeconds', new StatusError(503, 'ServiceUnavailable', 'busy', { retryAfterSeconds: 1 }), 1000],
    ['429 without retryAfterSeconds', tooMany(), undefined],
    ['404', new StatusError(404, 'NotFound', 'x', { retryAfterSeconds: 1 }), undefined],
    ['a plain error', new Error('x'), undefined],
  ])('%s: wait %s ms', (_name, err, want) => {
    expect(retryAfterMs(err)).toBe(want);
  });

  it('waits as told and tries again until answered', async () => {
    const s = script([tooMany(1), tooMany(2)]);
    await expect(withRetries(s.attempt, s.sleep)).resolves.toBe('ok');
    expect(s.waits).toEqual([1000, 2000]);
  });

  it('gives up with the 429 after 10 retries, as client-go', async () => {
    const s = script(Array.from({ length: 11 }, () => tooMany(1)));
    const err = await withRetries(s.attempt, s.sleep).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 429, reason: 'TooManyRequests' });
    expect([s.attempts(), s.waits.length]).toEqual([11, 10]);
  });

  it('fails at once on an error that says nothing of coming back', async () => {
    const s = script([new StatusError(409, 'Conflict', 'x')]);
    await expect(withRetries(s.attempt, s.sleep)).rejects.toMatchObject({ code: 409 });
    expect(s.attempts()).toBe(1);
  });
});
