/**
 * The gRPC face of the api-server for the cluster's own components: List,
 * Watch (a server stream fed by the watch cache), Get, Create, Update, Patch,
 * Delete. Objects travel as Kubernetes JSON; errors carry the Kubernetes
 * Status in the `kemu-status-bin` trailer. Callers authenticate with a
 * bearer token or a client certificate; unary calls are under API Priority
 * and Fairness with the REST front (./flowcontrol.ts). Every call, and every
 * watch, is written to the audit log as its REST twin would be (./audit.ts).
 * Bodies are limited as REST's: 3 MiB, and 10,000 operations in a JSON patch.
 */
import { X509Certificate, randomUUID } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ApiServerService, type ApiServerServer, type ApiObject, type ResourceRef, type WatchEvent } from '@kemu/proto';
import {
  StatusError,
  badRequest,
  entityTooLarge,
  internalError,
  isPlainObject,
  lookupResource,
  notFound,
  unauthorized,
  type DeleteOptions,
  type KubeObject,
} from '@kemu/api';
import type { RestStore } from '../registry/rest.js';
import { parsePatch, patchResource, patchTypeOf } from '../registry/patch.js';
import { bindPod, getScale, updateScale } from '../registry/subresources.js';
import { verifiedCertificateUser, type TokenAuthenticator, type UserInfo } from '../http/auth.js';
import { Authorizer, refusal } from '../authz/authorizer.js';
import { currentUser, runAs } from '../authz/request-user.js';
import { answerReview, reviewDepsOf } from '../authz/reviews.js';
import type { ServiceAccountTokens } from '../auth/service-account-tokens.js';
import { parseJsonBody } from '../encoding/json.js';
import type { FlowControl } from '../http/flowcontrol.js';
import { grpcRequestInfo, seatFor } from './flowcontrol.js';
import type { WatchSink } from '../storage/watch-cache.js';
import { jsonOf } from '../storage/serialized.js';
import type { AuditLog, CallOutcome, CallStages } from '../audit/log.js';
import { MAX_BODY } from '../http/body.js';
import { ANONYMOUS } from '../http/flowcontrol-config.js';
import type { RequestInfo } from '../http/request-info.js';
import { bodyOf, callInfo, failure, peerIP, responseOf, restURI } from './audit.js';

/**
 * The gRPC server's message limits: what it receives is held to kube-apiserver's 3 MiB request limit (a body past
 * MAX_BODY answers REST's 413; the few bytes of framing and ref beside it are allowed for, and a message past even
 * that is refused by grpc-js with RESOURCE_EXHAUSTED). Lists and watch events go out larger.
 */
export const GRPC_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': MAX_BODY + 64 * 1024,
  'grpc.max_send_message_length': 256 * 1024 * 1024,
};

/** REST's 413 for a body past 3 MiB. */
function limited(buf: Uint8Array | undefined): string {
  if ((buf?.length ?? 0) > MAX_BODY) throw entityTooLarge(MAX_BODY);
  return Buffer.from(buf ?? []).toString('utf8');
}

const GRPC_CODE: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  405: grpc.status.UNIMPLEMENTED,
  409: grpc.status.ABORTED,
  410: grpc.status.OUT_OF_RANGE,
  413: grpc.status.RESOURCE_EXHAUSTED,
  429: grpc.status.RESOURCE_EXHAUSTED,
  415: grpc.status.INVALID_ARGUMENT,
  422: grpc.status.INVALID_ARGUMENT,
  500: grpc.status.INTERNAL,
  503: grpc.status.UNAVAILABLE,
  504: grpc.status.DEADLINE_EXCEEDED,
};

/** A gRPC error carrying a Kubernetes Status. */
export function toGrpcError(e: unknown): grpc.ServiceError {
  const se = e instanceof StatusError ? e : internalError((e as Error)?.message ?? String(e));
  const metadata = new grpc.Metadata();
  metadata.set('kemu-status-bin', Buffer.from(JSON.stringify(se.status)));
  return Object.assign(new Error(se.message), { code: GRPC_CODE[se.code] ?? grpc.status.UNKNOWN, details: se.message, metadata }) satisfies grpc.ServiceError;
}

function apiObject(o: KubeObject): ApiObject {
  return { kind: o.kind ?? '', resourceVersion: o.metadata?.resourceVersion ?? '', json: Buffer.from(jsonOf(o)) };
}

function resolve(ref: ResourceRef | undefined) {
  if (!ref) throw badRequest('ref is required');
  const info = lookupResource(ref.group, ref.version, ref.resource);
  if (!info) throw notFound(ref.resource, ref.group, '');
  return { info, ns: info.namespaced && ref.namespace ? ref.namespace : undefined };
}

function decode(buf: Buffer | Uint8Array | undefined): KubeObject {
  const obj = parseJsonBody(limited(buf));
  if (!isPlainObject(obj)) throw badRequest('the payload must be a JSON object');
  obj.metadata ??= {};
  return obj as KubeObject;
}

type Call = { metadata: grpc.Metadata; getAuthContext?: () => { sslPeerCertificate?: PeerCertificate } | null };
type AuditedCall = Call & { getPeer(): string };

export interface GrpcDeps {
  saTokens?: ServiceAccountTokens;
  rest: RestStore;
  /** The bearer-token authenticators (static, bootstrap, service account), as REST's. */
  authn: TokenAuthenticator;
  /** The CA client certificates must be signed by (a kubelet's, from TLS bootstrapping). */
  ca: Buffer;
  /** The api-server's API Priority and Fairness, the REST front's: unary calls take their seats from it. */
  flowControl: FlowControl;
  onWatchCount: (delta: number) => void;
  /** Told of errors that are not a Kubernetes Status (a bug, or a failing etcd): they answer INTERNAL. */
  log?: Logger;
  /** The api-server's audit log, REST's: calls and watches are audited with its policy. */
  audit?: AuditLog;
}

export function createGrpcService(deps: GrpcDeps): ApiServerServer {
  const { rest } = deps;
  const authorizer = new Authorizer(rest.caches);
  const reviews = reviewDepsOf(authorizer, deps.authn);
  const ca = new X509Certificate(deps.ca);
  /**
   * The caller: a client certificate the CA signed (kubelets), else a bearer token (the other components, the
   * controller-manager's per-controller service accounts, a kubelet's bootstrap token), as REST authenticates;
   * every call is then authorized as its REST twin would be.
   */
  const auth = async (call: Call): Promise<UserInfo> => {
    const byCert = verifiedCertificateUser(call.getAuthContext?.()?.sslPeerCertificate, ca);
    if (byCert) return byCert;
    const m = /^Bearer\s+(\S+)$/i.exec(String(call.metadata.get('authorization')[0] ?? ''));
    const user = m ? await deps.authn(m[1]) : undefined;
    if (!user) throw unauthorized();
    return user;
  };
  /** What a call asks to do, as its REST twin's authorization attributes. */
  const attributes = (verb: string, ref: ResourceRef | undefined, name?: string, subresource?: string) => {
    const { info, ns } = resolve(ref);
    return {
      resourceRequest: true as const,
      verb,
      apiGroup: info.group,
      apiVersion: info.version,
      resource: info.resource,
      subresource: subresource || undefined,
      namespace: ns,
      name: name || undefined,
    };
  };
  /** Start a call's audit (RequestReceived); the answer's stages go through what it returns. */
  const audited = (call: AuditedCall, info: RequestInfo, received: Date, user: UserInfo): CallStages | undefined => {
    const given = String(call.metadata.get('audit-id')[0] ?? '').trim();
    const agent = call.metadata.get('user-agent')[0];
    return deps.audit?.call({
      auditID: given ? given.slice(0, 128) : randomUUID(),
      received,
      requestURI: restURI(info),
      info,
      user,
      sourceIPs: peerIP(call.getPeer()),
      userAgent: typeof agent === 'string' && agent ? agent : undefined,
    });
  };
  /** Authenticate the caller and start the call's audit (as the anonymous user when authentication fails, as REST's). */
  const caller = async (call: AuditedCall, info: RequestInfo, received: Date): Promise<{ user?: UserInfo; error?: unknown; stages?: CallStages }> => {
    try {
      const user = await auth(call);
      return { user, stages: audited(call, info, received, user) };
    } catch (error) {
      return { error, stages: audited(call, info, received, ANONYMOUS) };
    }
  };
  /** Authorize as REST does, keeping the decision for the audit event. */
  const authorize = (user: UserInfo, a: ReturnType<typeof attributes>, outcome: Partial<CallOutcome>) => {
    const d = authorizer.authorize(user, a);
    outcome.authorization = { allowed: d.allowed, reason: d.reason };
    if (!d.allowed) throw refusal(user, a, d.reason);
  };
  const failed = (e: unknown, method: string) => {
    if (!(e instanceof StatusError)) deps.log?.warn({ err: e, method }, 'gRPC call failed');
    return toGrpcError(e);
  };
  /**
   * A unary call as kube-apiserver's filter chain serves a request: authenticated, then under API Priority and
   * Fairness (a seat of its priority level, given back when it is answered, or 429), then authorized and served.
   */
  const unary =
    <Req extends { ref?: ResourceRef; name?: string; subresource?: string }, Res>(
      verb: string,
      fn: (req: Req) => Promise<Res>,
      body?: (req: Req) => Uint8Array | undefined,
    ): grpc.handleUnaryCall<Req, Res> =>
    (call, cb) => {
      let release: () => void = () => undefined;
      const received = new Date();
      const r = call.request;
      const info = callInfo(call.getPath(), verb, r.ref, r.name, r.subresource);
      let stages: CallStages | undefined;
      const annotations: Record<string, string> = {};
      const outcome: Partial<CallOutcome> = { annotations, requestObject: () => bodyOf(body?.(r)) };
      const complete = (code: number, response: () => unknown) => stages?.('ResponseComplete', { ...outcome, code, response });
      Promise.resolve()
        .then(async () => {
          const c = await caller(call, info, received);
          stages = c.stages;
          if (!c.user) throw c.error;
          const user = c.user;
          const a = attributes(verb, r.ref, r.name, r.subresource);
          release = await seatFor(deps.flowControl, user, grpcRequestInfo(call.getPath(), a), call);
          authorize(user, a, outcome);
          // Annotations admission adds go into the event; a key keeps its first value, as Go's AddAuditAnnotation.
          const note = (k: string, v: string) => void (k in annotations || (annotations[k] = v));
          return runAs(user, () => fn(r), undefined, note);
        })
        .then(
          (res) => {
            complete(verb === 'create' ? 201 : 200, () => responseOf(res));
            cb(null, res);
          },
          (e: unknown) => {
            const f = failure(e);
            complete(f.code, () => f.response);
            cb(failed(e, call.getPath()));
          },
        )
        .finally(() => release());
    };

  return {
    list: unary('list', async (req) => {
      const { info, ns } = resolve(req.ref);
      const out = await rest.list(info, ns, {
        labelSelector: req.labelSelector,
        fieldSelector: req.fieldSelector,
        limit: req.limit || undefined,
        continue: req.continue || undefined,
      });
      return { items: out.items.map(apiObject), resourceVersion: out.resourceVersion, continue: out.continue ?? '' };
    }),
    get: unary('get', async (req) => {
      const { info, ns } = resolve(req.ref);
      const obj = req.subresource === 'scale' ? await getScale(rest, info, ns, req.name) : await rest.get(info, ns, req.name);
      return { object: apiObject(obj) };
    }),
    create: unary(
      'create',
      async (req) => {
        const { info, ns } = resolve(req.ref);
        const obj = decode(req.json);
        if (req.subresource === 'token' && deps.saTokens && ns) return { object: apiObject(await deps.saTokens.issue(ns, req.name, obj)) };
        if (req.subresource === 'binding') {
          await bindPod(rest, info, ns, { ...obj, metadata: { ...obj.metadata, name: req.name || obj.metadata.name } }, new Date());
          return { object: apiObject({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }) };
        }
        // The review kinds (TokenReview, SubjectAccessReview, ...): answered, never stored, as over REST.
        if (info.virtual) return { object: apiObject(await answerReview(reviews, info, ns, obj, currentUser()!)) };
        return { object: apiObject(await rest.create(info, ns, obj)) };
      },
      (req) => req.json,
    ),
    update: unary(
      'update',
      async (req) => {
        const { info, ns } = resolve(req.ref);
        const obj = decode(req.json);
        if (req.subresource === 'scale') return { object: apiObject(await updateScale(rest, info, ns, req.name, { scale: obj })) };
        return { object: apiObject(await rest.update(info, ns, req.name, obj, req.subresource || undefined)) };
      },
      (req) => req.json,
    ),
    patch: unary(
      'patch',
      async (req) => {
        const { info, ns } = resolve(req.ref);
        const type = patchTypeOf(req.patchType);
        // REST's parser: YAML for apply, and the 10,000-operation limit of a JSON patch.
        const patch = parsePatch(type, limited(req.patch));
        if (req.subresource === 'scale') return { object: apiObject(await updateScale(rest, info, ns, req.name, { patchType: type, patch })) };
        return { object: apiObject(await patchResource(rest, info, ns, req.name, type, patch, req.subresource || undefined)) };
      },
      (req) => req.patch,
    ),
    delete: unary(
      'delete',
      async (req) => {
        const { info, ns } = resolve(req.ref);
        const opts = req.options?.length ? (decode(req.options) as unknown as DeleteOptions) : {};
        return { object: apiObject(await rest.delete(info, ns, req.name, opts)) };
      },
      (req) => req.options,
    ),
    watch: (call: grpc.ServerWritableStream<import('@kemu/proto').WatchRequest, WatchEvent>) => {
      let active: { stop(): void } | undefined;
      let done = false;
      const received = new Date();
      const info = callInfo(call.getPath(), 'watch', call.request.ref);
      let stages: CallStages | undefined;
      const outcome: Partial<CallOutcome> = {};
      const end = (err?: Error) => {
        if (done) return;
        done = true;
        active?.stop();
        deps.onWatchCount(-1);
        // Started: the stream answered 200 (a later error is an ERROR event in it, as over REST).
        stages?.('ResponseComplete', { ...outcome, code: 200 });
        if (err instanceof StatusError)
          call.write({ type: 'ERROR', object: { kind: 'Status', resourceVersion: '', json: Buffer.from(JSON.stringify(err.status)) } });
        call.end();
      };
      deps.onWatchCount(1);
      call.on('cancelled', () => end());
      call.on('error', () => end());
      const sink: WatchSink = {
        send: (type, obj) => {
          if (done) return false;
          call.write({ type, object: apiObject(obj) });
          return call.writableLength < 32 * 1024 * 1024;
        },
        close: (err) => end(err),
      };
      (async () => {
        // Long-running: no seat, as kube-apiserver's flow control lets watches by.
        const c = await caller(call, info, received);
        stages = c.stages;
        if (!c.user) throw c.error;
        authorize(c.user, attributes('watch', call.request.ref), outcome);
        const { info: resource, ns } = resolve(call.request.ref);
        active = await rest.watch(
          resource,
          ns,
          { labelSelector: call.request.labelSelector, fieldSelector: call.request.fieldSelector, resourceVersion: call.request.resourceVersion },
          sink,
        );
        if (done) active.stop();
        else stages?.('ResponseStarted', { ...outcome, code: 200 });
      })().catch((e) => {
        if (done) return;
        if (e instanceof StatusError && e.code === 410) {
          stages?.('ResponseStarted', { ...outcome, code: 200 });
          return end(e);
        }
        done = true;
        deps.onWatchCount(-1);
        const f = failure(e);
        stages?.('ResponseComplete', { ...outcome, code: f.code, response: () => f.response });
        call.destroy(failed(e, call.getPath()));
      });
    },
  };
}

export { ApiServerService };
