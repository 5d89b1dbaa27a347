/** Writing answers: JSON objects, Status errors, lists and server-side Tables. */
import type { ServerResponse } from 'node:http';
import { acceptedVersion } from './accept.js';
import { StatusError, internalError, tableColumns, tableRow, type KubeObject, type ResourceInfo, groupVersion } from '@kemu/api';

export function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

export function sendStatus(res: ServerResponse, err: unknown): void {
  const se = err instanceof StatusError ? err : internalError((err as Error)?.message ?? String(err));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, se.code, se.status);
}

export function sendText(res: ServerResponse, code: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}

/** The Table version the client asked for (`as=Table;v=v1;g=meta.k8s.io`), if any. */
export function tableWanted(accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  return acceptedVersion(accept, 'Table', 'meta.k8s.io', ['v1', 'v1beta1'] as const);
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function partial(obj: KubeObject, tv: string): object {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${tv}`, metadata: obj.metadata };
}

export function tableRowOf(info: ResourceInfo, obj: KubeObject, tv: string, include: IncludeObject, now: number): object {
  const row: Record<string, unknown> = { cells: tableRow(info.storage, obj, now) };
  if (include === 'Object') row.object = obj;
  else if (include === 'Metadata') row.object = partial(obj, tv);
  return row;
}

export function toTable(
  info: ResourceInfo,
  items: KubeObject[],
  meta: { resourceVersion?: string; continue?: string },
  tv: string,
  include: IncludeObject,
  withColumns = true,
): object {
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${tv}`,
    metadata: { resourceVersion: meta.resourceVersion ?? '', ...(meta.continue ? { continue: meta.continue } : {}) },
    columnDefinitions: withColumns ? tableColumns(info.storage) : [],
    rows: items.map((o) => tableRowOf(info, o, tv, include, now)),
  };
}

export function listOf(info: ResourceInfo, items: KubeObject[], meta: { resourceVersion: string; continue?: string }): object {
  return {
    kind: `${info.kind}List`,
    apiVersion: groupVersion(info),
    metadata: { resourceVersion: meta.resourceVersion, ...(meta.continue ? { continue: meta.continue } : {}) },
    items: items.map((o) => ({ ...o, apiVersion: groupVersion(info), kind: info.kind })),
  };
}
