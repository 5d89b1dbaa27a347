/**
 * What a request asks for, read from its method and URL alone (Kubernetes'
 * RequestInfoFactory): the layers that run before the handler — flow control,
 * audit — need the verb and the resource before anything is routed. Pure.
 */
import { parseRoute } from './route.js';

export interface RequestInfo {
  /** A resource request (under /api or /apis naming a resource) or a non-resource path (/healthz, /version, discovery). */
  isResourceRequest: boolean;
  /** The URL path, without the query. */
  path: string;
  /** get, list, watch, create, update, patch, delete, deletecollection; for a non-resource path, the HTTP method in lower case. */
  verb: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

const WATCH_TRUE = new Set(['1', 'true', 'True', 'TRUE', 't', 'T']);

export function requestInfo(method: string | undefined, url: string | undefined): RequestInfo {
  let parsed: URL;
  try {
    parsed = new URL(url ?? '/', 'https://kemu');
  } catch {
    parsed = new URL('https://kemu/');
  }
  const path = parsed.pathname;
  const m = (method ?? 'GET').toUpperCase();
  const base = { path, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
  let route;
  try {
    route = parseRoute(path.replace(/\/+$/, ''));
  } catch {
    route = { kind: 'unknown' as const }; // a malformed %-escape: the handler answers it
  }
  if (route.kind !== 'resource') return { ...base, isResourceRequest: false, verb: m.toLowerCase() };
  const r = route.req;
  const watching = r.legacyWatch || WATCH_TRUE.has(parsed.searchParams.get('watch') ?? '');
  let verb: string;
  switch (m) {
    case 'GET':
    case 'HEAD':
      verb = watching ? 'watch' : r.name ? 'get' : 'list';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = r.name ? 'delete' : 'deletecollection';
      break;
    default:
      verb = m.toLowerCase();
  }
  return {
    ...base,
    isResourceRequest: true,
    verb,
    apiGroup: r.info.group,
    apiVersion: r.info.version,
    resource: r.info.resource,
    subresource: r.subresource ?? '',
    namespace: r.namespace ?? '',
    name: r.name ?? '',
  };
}

/**
 * Requests that may stay open for as long as the client likes (kube-apiserver's
 * BasicLongRunningRequestCheck: the watch and proxy verbs, and the attach,
 * exec, proxy, log and portforward subresources): flow control does not
 * count them against a priority level's seats.
 */
export function isLongRunning(info: RequestInfo): boolean {
  if (!info.isResourceRequest) return false;
  return info.verb === 'watch' || info.verb === 'proxy' || ['attach', 'exec', 'proxy', 'log', 'portforward'].includes(info.subresource);
}
