/**
 * The api-server's REST API for a pod inside the cluster (the DNS and ingress
 * add-ons). The components' gRPC port takes only the static tokens of the
 * control plane, while a pod holds a service account token, which the REST
 * API (https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT) accepts —
 * so in a pod the informers read through this client, and the few writes an
 * add-on makes (an Ingress's status, Events) go through it too, with the
 * same verbs and errors as the gRPC ApiClient, and the same retries after a
 * Retry-After.
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { IncomingMessage } from 'node:http';
import { StatusError, type KubeObject, type Status, type WatchEvent } from '@kemu/api';
import type { ApiClient, ListResult, ResourceId } from './api-client.js';
import { withRetries } from './retry.js';
import { realClock, sleepOn, type Clock } from './clock.js';
import type { ListWatcher } from './informer.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface RestClientOptions {
  /** https://host:port of the api-server. */
  server: string;
  ca: Buffer | string;
  /** Read for every request: the kubelet renews a projected token in place. */
  tokenFile: string;
  /** Time for the waits before a call refused with a Retry-After is made again; tests drive it. */
  clock?: Clock;
}

/** The in-cluster configuration, as client-go's rest.InClusterConfig: undefined outside a pod. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): RestClientOptions | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  return { server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, ca: readFileSync(`${dir}/ca.crt`), tokenFile: `${dir}/token` };
}

function path(r: ResourceId): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespace ? `${base}/namespaces/${r.namespace}/${r.resource}` : `${base}/${r.resource}`;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '' && v !== 0) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function failure(res: IncomingMessage): Promise<StatusError> {
  const body = await readBody(res);
  try {
    const s = JSON.parse(body) as Partial<Status>;
    if (s.kind === 'Status') return StatusError.fromStatus(s);
  } catch {
    /* not a Status */
  }
  return new StatusError(res.statusCode ?? 500, 'InternalError', body || `HTTP ${res.statusCode}`);
}

type PatchType = Parameters<ApiClient['patch']>[3];

export class RestClient implements ListWatcher, Pick<ApiClient, 'get' | 'create' | 'update' | 'patch'> {
  private agent: https.Agent;
  private url: URL;

  constructor(private o: RestClientOptions) {
    this.url = new URL(o.server);
    this.agent = new https.Agent({ ca: o.ca, keepAlive: true });
  }

  private request(p: string, o: { signal?: AbortSignal; method?: string; body?: unknown; contentType?: string } = {}): Promise<IncomingMessage> {
    const token = readFileSync(this.o.tokenFile, 'utf8').trim();
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          method: o.method ?? 'GET',
          host: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port || 443,
          path: p,
          agent: this.agent,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': payload.length } : {}),
          },
          signal: o.signal,
        },
        resolve,
      );
      req.on('error', (e) => reject(e.name === 'AbortError' ? e : new StatusError(503, 'ServiceUnavailable', `api-server unavailable: ${e.message}`)));
      req.end(payload);
    });
  }

  /** One call whose reply is a JSON body (or a Status on failure); refused with a Retry-After, made again after it. */
  private call<T>(p: string, o: { method?: string; body?: unknown; contentType?: string } = {}): Promise<T> {
    return withRetries(
      async () => {
        const res = await this.request(p, o);
        if ((res.statusCode ?? 500) >= 300) throw await failure(res);
        return JSON.parse(await readBody(res)) as T;
      },
      (ms) => sleepOn(this.o.clock ?? realClock, ms),
    );
  }

  get(r: ResourceId, name: string, subresource = ''): Promise<KubeObject> {
    return this.call<KubeObject>(`${path(r)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`, { method: 'GET' });
  }

  create(r: ResourceId, obj: KubeObject, opts: { subresource?: string; name?: string } = {}): Promise<KubeObject> {
    const sub = opts.subresource ? `/${encodeURIComponent(opts.name ?? '')}/${opts.subresource}` : '';
    return this.call<KubeObject>(path(r) + sub, { method: 'POST', body: obj });
  }

  update(r: ResourceId, obj: KubeObject, subresource = ''): Promise<KubeObject> {
    return this.call<KubeObject>(`${path(r)}/${encodeURIComponent(obj.metadata.name ?? '')}${subresource ? `/${subresource}` : ''}`, {
      method: 'PUT',
      body: obj,
    });
  }

  patch(r: ResourceId, name: string, patch: unknown, type: PatchType = 'application/merge-patch+json', subresource = ''): Promise<KubeObject> {
    return this.call<KubeObject>(`${path(r)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`, {
      method: 'PATCH',
      body: patch,
      contentType: type,
    });
  }

  async list(r: ResourceId, opts: { labelSelector?: string; fieldSelector?: string; limit?: number; continue?: string } = {}): Promise<ListResult> {
    const list = await this.call<{ items?: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } }>(
      path(r) + query({ labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: opts.continue }),
    );
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '', continue: list.metadata?.continue || undefined };
  }

  watch(
    r: ResourceId,
    opts: { resourceVersion?: string; labelSelector?: string; fieldSelector?: string; timeoutSeconds?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<WatchEvent> {
    const p =
      path(r) +
      query({
        watch: 1,
        resourceVersion: opts.resourceVersion,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        timeoutSeconds: opts.timeoutSeconds,
        allowWatchBookmarks: true,
      });
    // The server ends the watch after timeoutSeconds; a connection that died unseen never says so, so the client gives
    // up half a minute later (as client-go's request timeout does), and the caller watches again.
    const deadline = opts.timeoutSeconds ? AbortSignal.timeout((opts.timeoutSeconds + 30) * 1000) : undefined;
    const signal = deadline && opts.signal ? AbortSignal.any([opts.signal, deadline]) : (deadline ?? opts.signal);
    const request = () => this.request(p, { signal });
    return {
      async *[Symbol.asyncIterator]() {
        let res: IncomingMessage;
        try {
          res = await request();
        } catch (e) {
          if (signal?.aborted) return;
          throw e;
        }
        if ((res.statusCode ?? 500) >= 300) throw await failure(res);
        try {
          // One JSON event per line, as the api-server streams them.
          for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
            if (line.trim()) yield JSON.parse(line) as WatchEvent;
          }
        } catch (e) {
          if (signal?.aborted) return;
          throw e;
        }
      },
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
