/**
 * The gRPC client every cluster component uses to talk to the api-server:
 * Kubernetes verbs on any resource, objects as plain Kubernetes JSON, errors
 * as StatusError (isNotFound, isConflict, ...), and watches as async
 * iterators that end when the server ends the stream. A call the api-server
 * refuses with a Retry-After (API Priority and Fairness' 429) is retried
 * after it, as client-go retries.
 */
import * as grpc from '@grpc/grpc-js';
import { ApiServerClient, type ApiObject, type ListResponse, type ObjectResponse, type ResourceRef, type WatchEvent as WireEvent } from '@kemu/proto';
import { StatusError, type DeleteOptions, type KubeObject, type Status, type WatchEvent, type WatchEventType } from '@kemu/api';
import { realClock, sleepOn, type Clock } from './clock.js';
import { MAX_RETRIES, withRetries } from './retry.js';

export { MAX_RETRIES, retryAfterMs, withRetries } from './retry.js';

export interface ApiClientOptions {
  /** host:port of the api-server's gRPC listener. */
  address: string;
  /** PEM of the CA that signed the api-server's certificate. */
  ca: Buffer | string;
  /**
   * A bearer token, or how to read the current one (a token that is renewed: service account credentials); a
   * promise holds the call until the first token is there.
   */
  token?: string | (() => string | Promise<string>);
  /** A client certificate and its key (PEM) instead of a token: a kubelet's, from TLS bootstrapping. */
  clientCert?: { cert: Buffer | string; key: Buffer | string };
  /** TLS name to verify (the certificate has `kubernetes` among its names). Default: kubernetes. */
  serverName?: string;
  /** How often a call refused with a Retry-After is tried again (client-go's Request.MaxRetries). Default: 10. */
  maxRetries?: number;
  /** Time for the waits between retries; tests drive it. */
  clock?: Clock;
}

export interface ResourceId {
  group?: string;
  version: string;
  resource: string;
  namespace?: string;
}

export interface ListResult<T = KubeObject> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

const UNARY_DEADLINE_MS = 60_000;

function ref(r: ResourceId): ResourceRef {
  return { group: r.group ?? '', version: r.version, resource: r.resource, namespace: r.namespace ?? '' };
}

function parse(o: ApiObject | undefined): KubeObject {
  return JSON.parse(Buffer.from(o?.json ?? []).toString('utf8')) as KubeObject;
}

/** A gRPC error back into the Kubernetes Status it carries. */
export function fromGrpcError(e: unknown): Error {
  const err = e as grpc.ServiceError;
  const raw = err?.metadata?.get?.('kemu-status-bin')?.[0];
  if (raw) {
    try {
      // The api-server puts the metav1.Status of the failure here.
      return StatusError.fromStatus(JSON.parse(Buffer.from(raw as Buffer).toString('utf8')) as Partial<Status>);
    } catch {
      /* fall through */
    }
  }
  if (err?.code === grpc.status.UNAVAILABLE) return new StatusError(503, 'ServiceUnavailable', err.details || 'api-server unavailable');
  if (err?.code === grpc.status.DEADLINE_EXCEEDED)
    return new StatusError(504, 'Timeout', 'the server was unable to return a response in the time allotted, but may still be processing the request');
  return e instanceof Error ? e : new Error(String(e));
}

export class ApiClient {
  private client: ApiServerClient;
  private readonly maxRetries: number;
  private readonly clock: Clock;

  constructor(opts: ApiClientOptions) {
    this.maxRetries = opts.maxRetries ?? MAX_RETRIES;
    this.clock = opts.clock ?? realClock;
    const cert = opts.clientCert;
    const tls = cert
      ? grpc.credentials.createSsl(Buffer.from(opts.ca), Buffer.from(cert.key), Buffer.from(cert.cert))
      : grpc.credentials.createSsl(Buffer.from(opts.ca));
    const token = opts.token;
    const auth =
      token === undefined
        ? undefined
        : grpc.credentials.createFromMetadataGenerator((_p, cb) => {
            Promise.resolve(typeof token === 'function' ? token() : token).then(
              (t) => {
                const md = new grpc.Metadata();
                md.set('authorization', `Bearer ${t}`);
                cb(null, md);
              },
              (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
            );
          });
    this.client = new ApiServerClient(opts.address, auth ? grpc.credentials.combineChannelCredentials(tls, auth) : tls, {
      'grpc.ssl_target_name_override': opts.serverName ?? 'kubernetes',
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
      // grpc-js waits 1 s before its first reconnect and 1.6 times longer each time after, up to 2 min: a component
      // whose api-server restarted (kemu chaos restart apiserver) would sit out seconds, up to minutes, after the
      // api-server is back. client-go retries a request within a backoff of about a second; 250 ms growing to 5 s
      // keeps kemu's components as close behind.
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
  }

  close(): void {
    this.client.close();
  }

  /**
   * One unary call as a promise: `call` invokes a method of the generated
   * client with the metadata, options and callback given. Every attempt has a
   * deadline (the api-server's 60 s request timeout), so no worker waits for
   * ever on a lost reply; one refused with a Retry-After is made again after
   * it (withRetries).
   */
  private unary<Res = ObjectResponse>(
    call: (md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  ): Promise<Res> {
    const attempt = () =>
      new Promise<Res>((resolve, reject) => {
        call(new grpc.Metadata(), { deadline: Date.now() + UNARY_DEADLINE_MS }, (err, res) => (err ? reject(fromGrpcError(err)) : resolve(res)));
      });
    return withRetries(attempt, (ms) => sleepOn(this.clock, ms), this.maxRetries);
  }

  async list(r: ResourceId, opts: { labelSelector?: string; fieldSelector?: string; limit?: number; continue?: string } = {}): Promise<ListResult> {
    const res = await this.unary<ListResponse>((md, o, cb) =>
      this.client.list(
        {
          ref: ref(r),
          labelSelector: opts.labelSelector ?? '',
          fieldSelector: opts.fieldSelector ?? '',
          limit: opts.limit ?? 0,
          continue: opts.continue ?? '',
        },
        md,
        o,
        cb,
      ),
    );
    return { items: res.items.map(parse), resourceVersion: res.resourceVersion, continue: res.continue || undefined };
  }

  async get(r: ResourceId, name: string, subresource = ''): Promise<KubeObject> {
    return parse((await this.unary((md, o, cb) => this.client.get({ ref: ref(r), name, subresource }, md, o, cb))).object);
  }

  async create(r: ResourceId, obj: KubeObject, opts: { subresource?: string; name?: string } = {}): Promise<KubeObject> {
    return parse(
      (
        await this.unary((md, o, cb) =>
          this.client.create({ ref: ref(r), json: Buffer.from(JSON.stringify(obj)), subresource: opts.subresource ?? '', name: opts.name ?? '' }, md, o, cb),
        )
      ).object,
    );
  }

  async update(r: ResourceId, obj: KubeObject, subresource = ''): Promise<KubeObject> {
    return parse(
      (
        await this.unary((md, o, cb) =>
          this.client.update({ ref: ref(r), name: obj.metadata.name ?? '', json: Buffer.from(JSON.stringify(obj)), subresource }, md, o, cb),
        )
      ).object,
    );
  }

  async patch(
    r: ResourceId,
    name: string,
    patch: unknown,
    type: 'application/json-patch+json' | 'application/merge-patch+json' | 'application/strategic-merge-patch+json' = 'application/merge-patch+json',
    subresource = '',
  ): Promise<KubeObject> {
    return parse(
      (
        await this.unary((md, o, cb) =>
          this.client.patch({ ref: ref(r), name, patchType: type, patch: Buffer.from(JSON.stringify(patch)), subresource }, md, o, cb),
        )
      ).object,
    );
  }

  async delete(r: ResourceId, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    return parse((await this.unary((md, o, cb) => this.client.delete({ ref: ref(r), name, options: Buffer.from(JSON.stringify(options)) }, md, o, cb))).object);
  }

  /**
   * Watch from `resourceVersion` ("" or "0": current objects first as ADDED).
   * The iterator ends when the server ends the stream; an ERROR event (410
   * Gone) is yielded as such, so callers can relist.
   */
  watch(
    r: ResourceId,
    // timeoutSeconds: the gRPC watch has no such field; the channel's keepalive pings find a dead stream instead.
    opts: { resourceVersion?: string; labelSelector?: string; fieldSelector?: string; timeoutSeconds?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<WatchEvent> {
    const call = this.client.watch({
      ref: ref(r),
      resourceVersion: opts.resourceVersion ?? '',
      labelSelector: opts.labelSelector ?? '',
      fieldSelector: opts.fieldSelector ?? '',
      allowBookmarks: false,
    });
    opts.signal?.addEventListener('abort', () => call.cancel(), { once: true });
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const ev of call as AsyncIterable<WireEvent>) {
            yield { type: ev.type as WatchEventType, object: parse(ev.object) };
          }
        } catch (e) {
          if ((e as grpc.ServiceError).code === grpc.status.CANCELLED) return;
          throw fromGrpcError(e);
        }
      },
    };
  }
}
