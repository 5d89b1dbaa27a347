/**
 * What the audit log needs of a call on the components' gRPC front, in the
 * terms of its REST twin: the RequestInfo (verb, resource, namespace, name
 * as the caller asked, before any lookup, so a call naming an unknown
 * resource is audited as asked), the REST path it stands for (the event's
 * requestURI), the peer's address (sourceIPs) and the Kubernetes code of its
 * answer. The events themselves are ../audit's, as REST's. Pure.
 */
import { StatusError, internalError } from '@kemu/api';
import type { ResourceRef } from '@kemu/proto';
import type { RequestInfo } from '../http/request-info.js';

/** The call's RequestInfo, from its ref as sent. */
export function callInfo(path: string, verb: string, ref: ResourceRef | undefined, name?: string, subresource?: string): RequestInfo {
  return {
    isResourceRequest: true,
    path,
    verb,
    apiGroup: ref?.group ?? '',
    apiVersion: ref?.version ?? '',
    resource: ref?.resource ?? '',
    subresource: subresource ?? '',
    namespace: ref?.namespace ?? '',
    name: name ?? '',
  };
}

/** The REST URI a call stands for, e.g. /api/v1/namespaces/default/pods/web/status (?watch=true for a watch). */
export function restURI(i: RequestInfo): string {
  const parts = [i.apiGroup ? `/apis/${i.apiGroup}` : '/api', i.apiVersion];
  if (i.namespace) parts.push('namespaces', i.namespace);
  parts.push(i.resource);
  if (i.name) parts.push(i.name);
  if (i.subresource) parts.push(i.subresource);
  return parts.map((p) => (p.startsWith('/') ? p : encodeURIComponent(p))).join('/') + (i.verb === 'watch' ? '?watch=true' : '');
}

/** The peer's address without its port: grpc-js says "1.2.3.4:5678", "[::1]:5678" or "ipv4:1.2.3.4:5678". */
export function peerIP(peer: string): string[] {
  const p = peer.replace(/^ipv[46]:/, '');
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(p);
  const ip = v6 ? v6[1] : p.replace(/:\d+$/, '');
  const out = ip.replace(/^::ffff:/, '');
  return out ? [out] : [];
}

/** A failed call's code and Status for its event, as toGrpcError answers it (anything but a Status is a 500). */
export function failure(e: unknown): { code: number; response: unknown } {
  const se = e instanceof StatusError ? e : internalError((e as Error)?.message ?? String(e));
  return { code: se.code, response: se.status };
}

/** A JSON body as sent, for the Request levels (undefined when it is not JSON). */
export function bodyOf(buf: Uint8Array | undefined): unknown {
  if (!buf?.length) return undefined;
  try {
    return JSON.parse(Buffer.from(buf).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** What a unary call answered, as its REST twin's body: the object, or a List of the items. */
export function responseOf(res: unknown): unknown {
  if (!res || typeof res !== 'object') return undefined;
  const r = res as { object?: { json?: Uint8Array }; items?: { json?: Uint8Array }[]; resourceVersion?: string; continue?: string };
  if (r.object) return bodyOf(r.object.json);
  if (r.items)
    return {
      kind: 'List',
      apiVersion: 'v1',
      metadata: { resourceVersion: r.resourceVersion ?? '', ...(r.continue ? { continue: r.continue } : {}) },
      items: r.items.map((i) => bodyOf(i.json)),
    };
  return undefined;
}
