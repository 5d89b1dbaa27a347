/**
 * REST watch: one JSON event per line, chunked and flushed per event;
 * bookmarks when asked; timeoutSeconds honoured; a consumer that stops
 * reading has its watch ended instead of buffering without bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StatusError, tableColumns, type KubeObject, type ResourceInfo, type WatchEventType, groupVersion } from '@kemu/api';
import type { RestStore } from '../registry/rest.js';
import type { WatchSink } from '../storage/watch-cache.js';
import { tableRowOf, type IncludeObject } from './respond.js';
import { jsonOf } from '../storage/serialized.js';

/** Bytes a watcher may have waiting before it counts as too slow. */
export const MAX_PENDING_BYTES = 32 * 1024 * 1024;

export interface WatchParams {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
  /** The watch-list protocol: the state first, then a bookmark that ends it. */
  sendInitialEvents?: boolean;
  table?: string;
  includeObject: IncludeObject;
}

export async function serveWatch(
  rest: RestStore,
  info: ResourceInfo,
  ns: string | undefined,
  params: WatchParams,
  req: IncomingMessage,
  res: ServerResponse,
  onWatchCount: (delta: number) => void,
): Promise<void> {
  let closed = false;
  let firstTable = true;
  const cache = rest.cache(info);
  const frame = (type: WatchEventType, obj: unknown) => JSON.stringify({ type, object: obj }) + '\n';
  const encode = (type: WatchEventType, obj: KubeObject): string => {
    if (type === 'BOOKMARK') return frame(type, { kind: info.kind, apiVersion: groupVersion(info), ...obj });
    if (type === 'ERROR') return frame(type, obj);
    if (!params.table) {
      // Stored objects carry apiVersion and kind; their JSON is shared by every watcher.
      if (obj.apiVersion && obj.kind) return `{"type":"${type}","object":${jsonOf(obj)}}\n`;
      return frame(type, { ...obj, apiVersion: groupVersion(info), kind: info.kind });
    }
    const t = {
      kind: 'Table',
      apiVersion: `meta.k8s.io/${params.table}`,
      metadata: { resourceVersion: obj.metadata?.resourceVersion ?? '' },
      columnDefinitions: firstTable ? tableColumns(info.storage) : [],
      rows: [tableRowOf(info, obj, params.table, params.includeObject, Date.now())],
    };
    firstTable = false;
    return frame(type, t);
  };
  const headers = () => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  };
  let active: { stop(): void } | undefined;
  // Set once the watch runs; finish() may come first (an error while starting), so they start empty.
  const timers: { timeout?: NodeJS.Timeout; bookmarks?: NodeJS.Timeout } = {};
  const finish = (err?: Error) => {
    if (closed) return;
    closed = true;
    clearTimeout(timers.timeout);
    clearInterval(timers.bookmarks);
    active?.stop();
    onWatchCount(-1);
    if (err instanceof StatusError && !res.destroyed) {
      headers();
      res.write(frame('ERROR', err.status));
    }
    if (!res.destroyed) res.end();
  };
  const sink: WatchSink = {
    send(type, obj) {
      if (closed) return false;
      headers();
      res.write(encode(type, obj));
      return res.writableLength < MAX_PENDING_BYTES;
    },
    close: (err) => finish(err),
  };
  onWatchCount(1);
  req.on('close', () => finish());
  res.on('error', () => finish());
  try {
    active = await rest.watch(
      info,
      ns,
      {
        labelSelector: params.labelSelector,
        fieldSelector: params.fieldSelector,
        resourceVersion: params.resourceVersion,
        sendInitialEvents: params.sendInitialEvents,
      },
      sink,
    );
  } catch (e) {
    if (e instanceof StatusError && e.code === 410) {
      finish(e);
      return;
    }
    closed = true;
    onWatchCount(-1);
    throw e;
  }
  if (closed) {
    active.stop();
    return;
  }
  headers();
  // Flush the headers now: a client waits for them before it counts the watch as started.
  (res as ServerResponse & { flushHeaders(): void }).flushHeaders();
  const timeout = params.timeoutSeconds && params.timeoutSeconds > 0 ? params.timeoutSeconds : 1800 + Math.floor(Math.random() * 1800);
  timers.timeout = setTimeout(() => finish(), timeout * 1000);
  if (params.allowBookmarks) {
    timers.bookmarks = setInterval(() => {
      sink.send('BOOKMARK', { kind: info.kind, apiVersion: groupVersion(info), metadata: { resourceVersion: String(cache.rev) } });
    }, 30_000);
  }
}
