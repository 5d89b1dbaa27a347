/**
 * A request's authorization attributes, as Kubernetes' RequestInfo makes
 * them: the verb from the HTTP method (GET of a name is get, of a collection
 * list, with watch=true watch; DELETE of a collection deletecollection), the
 * group, resource, subresource, namespace and name from the path; anything
 * outside /api and /apis is a non-resource request on its path. Pure.
 */
import { resourceVerb as apiResourceVerb } from '@kemu/api';
import type { ResourceRequest } from '../http/route.js';
import type { RequestAttributes } from './rbac.js';

const NON_RESOURCE_VERB: Record<string, string> = { GET: 'get', HEAD: 'get', POST: 'post', PUT: 'put', PATCH: 'patch', DELETE: 'delete', OPTIONS: 'options' };

export function nonResourceAttributes(method: string, path: string): RequestAttributes {
  return { resourceRequest: false, verb: NON_RESOURCE_VERB[method] ?? method.toLowerCase(), path };
}

/** The verb of a resource request; a method Kubernetes has no verb for is its own name in lower case. */
export function resourceVerb(method: string, named: boolean, watching: boolean): string {
  return apiResourceVerb(method, named, watching) ?? method.toLowerCase();
}

export function resourceAttributes(method: string, r: ResourceRequest, watching: boolean): RequestAttributes {
  return {
    resourceRequest: true,
    verb: resourceVerb(method, !!r.name, watching || r.legacyWatch),
    apiGroup: r.info.group,
    apiVersion: r.info.version,
    resource: r.info.resource,
    subresource: r.subresource,
    namespace: r.namespace,
    name: r.name,
  };
}
