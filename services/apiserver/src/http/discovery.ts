/**
 * Discovery documents, derived from the resource registry: the legacy
 * shapes (/api, /apis, /api/v1, /apis/<g>/<v>) and the aggregated
 * apidiscovery.k8s.io/v2 lists that kubectl 1.32 asks for first.
 */
import { acceptedVersion } from './accept.js';
import { groups, resourcesOf, subresourceKind, groupVersion, storageInfo, type ResourceInfo } from '@kemu/api';

export const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
export const AGGREGATED_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** Which aggregated form the client accepts, if any. */
export function aggregatedWanted(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  return acceptedVersion(accept, 'APIGroupDiscoveryList', 'apidiscovery.k8s.io', ['v2', 'v2beta1'] as const);
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function preferred(name: string, versions: string[]) {
  return { groupVersion: `${name}/${versions[0]}`, version: versions[0] };
}

export function apiGroupList(): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups()
      .filter((g) => g.name !== '')
      .map((g) => ({
        name: g.name,
        versions: g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v })),
        preferredVersion: preferred(g.name, g.versions),
      })),
  };
}

export function apiGroup(name: string): object | undefined {
  const g = groups().find((x) => x.name === name && name !== '');
  if (!g) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name,
    versions: g.versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: preferred(name, g.versions),
  };
}

/** APIResourceList for one group/version, or undefined if it is not served. */
export function apiResourceList(group: string, version: string): object | undefined {
  const list = resourcesOf(group, version);
  if (!list.length) return undefined;
  const resources: object[] = [];
  for (const r of list) {
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
      // Of the version objects are stored in, as kube-apiserver computes it: every version of a resource has the same.
      storageVersionHash: hash(`${groupVersion(storageInfo(r))}/${storageInfo(r).kind}`),
    });
    for (const sub of r.subresources) {
      const k = subresourceKind(r, sub);
      resources.push({
        name: `${r.resource}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(k.group !== r.group ? { group: k.group } : {}),
        ...(k.version !== r.version || k.group !== r.group ? { version: k.version } : {}),
        kind: k.kind,
        verbs: k.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

function discoveryResource(r: ResourceInfo): object {
  return {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    ...(r.subresources.length
      ? {
          subresources: r.subresources.map((sub) => {
            const k = subresourceKind(r, sub);
            return { subresource: sub, responseKind: { group: k.group, version: k.version, kind: k.kind }, verbs: k.verbs };
          }),
        }
      : {}),
  };
}

/** The aggregated list for `/api` (core) or `/apis` (named groups). */
export function aggregatedList(core: boolean, version: 'v2' | 'v2beta1'): object {
  const items = groups()
    .filter((g) => (core ? g.name === '' : g.name !== ''))
    .map((g) => ({
      metadata: { name: g.name, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v,
        resources: resourcesOf(g.name, v).map(discoveryResource),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

function hash(s: string): string {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return Buffer.from(h.toString(16)).toString('base64').slice(0, 11);
}
