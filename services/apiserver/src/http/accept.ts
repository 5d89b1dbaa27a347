/**
 * Content negotiation on Accept: which version of a special answer (`as=Table`
 * in meta.k8s.io, `as=APIGroupDiscoveryList` in apidiscovery.k8s.io) the
 * client asks for, trying its media types in order.
 */
export function acceptedVersion<V extends string>(accept: string | undefined, as: string, group: string, versions: readonly V[]): V | undefined {
  if (!accept || !accept.includes(`as=${as}`)) return undefined;
  for (const part of accept.split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.get('as') !== as || params.get('g') !== group) continue;
    const v = params.get('v') as V | undefined;
    if (v && versions.includes(v)) return v;
  }
  return undefined;
}
