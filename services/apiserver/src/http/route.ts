/**
 * Parsing a resource URL into what it names: group, version, resource,
 * namespace, name and subresource (Kubernetes' RequestInfo). Pure.
 */
import { lookupResource, type ResourceInfo } from '@kemu/api';

export interface ResourceRequest {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** Old-style /api/v1/watch/... path. */
  legacyWatch: boolean;
  /** What follows .../proxy/ (pods and services proxy). */
  proxyPath?: string;
}

export type Route =
  | { kind: 'resource'; req: ResourceRequest }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'group'; group: string }
  | { kind: 'unknown' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length === 2) {
    return { kind: 'group', group: parts[1] };
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return { kind: 'unknown' };
  if (rest.length === 0) return { kind: 'groupVersion', group, version };
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const nested = lookupResource(group, version, rest[2]);
    if (nested && nested.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const info = lookupResource(group, version, rest[0]);
  if (!info || (rest.length > 3 && rest[2] !== 'proxy')) return { kind: 'unknown' };
  const proxyPath = rest[2] === 'proxy' ? '/' + rest.slice(3).join('/') + (rest.length > 3 && pathname.endsWith('/') ? '/' : '') : undefined;
  return { kind: 'resource', req: { info, namespace, name: rest[1], subresource: rest[2], legacyWatch, ...(proxyPath !== undefined ? { proxyPath } : {}) } };
}
