/**
 * API Priority and Fairness on the components' gRPC front: a unary call
 * (get, list, create, update, patch, delete) waits for a seat of its
 * priority level in the api-server's one FlowControl — the REST front's, so
 * both fronts share one set of seats, as every request of kube-apiserver
 * does — classified by its caller and the same request attributes its
 * authorization checks. A refused call answers RESOURCE_EXHAUSTED with the
 * 429 TooManyRequests Status (retryAfterSeconds set) in its trailer, which
 * @kemu/client turns back into the StatusError a REST client would see.
 * Watches are long-running and hold no seat.
 */
import type { StatusError } from '@kemu/api';
import type { UserInfo } from '../http/auth.js';
import type { FlowControl } from '../http/flowcontrol.js';
import type { RequestAttributes } from '../authz/rbac.js';
import type { RequestInfo } from '../http/request-info.js';

type ResourceAttributes = Extract<RequestAttributes, { resourceRequest: true }>;

/** A gRPC call's RequestInfo for classification, from the attributes it is authorized by. Pure. */
export function grpcRequestInfo(path: string, a: ResourceAttributes): RequestInfo {
  return {
    isResourceRequest: true,
    path,
    verb: a.verb,
    apiGroup: a.apiGroup,
    apiVersion: a.apiVersion ?? '',
    resource: a.resource,
    subresource: a.subresource ?? '',
    namespace: a.namespace ?? '',
    name: a.name ?? '',
  };
}

/** The part of a grpc-js server call flow control needs: its client may cancel it. */
export interface CancellableCall {
  readonly cancelled: boolean;
  once(event: 'cancelled', listener: () => void): unknown;
}

/**
 * Wait for the call's seat. Resolves with the function that gives the seat
 * back (call it once the call is answered); rejects with the 429 Status when
 * flow control refuses the call. A call its client cancels gives its seat
 * back at once, or leaves its queue (it then stays unanswered: nobody listens).
 */
export function seatFor(fc: FlowControl, user: UserInfo, info: RequestInfo, call: CancellableCall): Promise<() => void> {
  return new Promise((resolve, reject) => {
    let done: (() => void) | undefined = undefined;
    let cancelled = call.cancelled;
    if (cancelled) return;
    call.once('cancelled', () => {
      cancelled = true;
      done?.();
    });
    done = fc.admit(user, info, {
      run: () => resolve(() => done?.()),
      reject: (e: StatusError) => reject(e),
    });
    if (cancelled) done();
  });
}
