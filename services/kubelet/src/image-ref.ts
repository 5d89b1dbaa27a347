/**
 * Image references as container runtimes read them: `nginx` is
 * docker.io/library/nginx:latest; a first part with a dot, a colon or
 * `localhost` is a registry; a tag follows the last colon after the last
 * slash; a digest follows `@`. Pure. (The catalog that maps references to
 * programs in images/ comes with the runtime.)
 */
export interface ImageRef {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export class InvalidImageError extends Error {}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export function parseImageRef(ref: string): ImageRef {
  if (!ref || /\s/.test(ref)) throw new InvalidImageError(`couldn't parse image name "${ref}": invalid reference format`);
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^[a-z0-9]+:[a-f0-9]{32,}$/.test(digest)) throw new InvalidImageError(`couldn't parse image name "${ref}": invalid reference format`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new InvalidImageError(`couldn't parse image name "${ref}": invalid reference format`);
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) registry = parts.shift()!;
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  if (!parts.every((p) => COMPONENT.test(p))) throw new InvalidImageError(`couldn't parse image name "${ref}": invalid reference format`);
  return { registry, repository: parts.join('/'), tag: tag ?? (digest ? undefined : 'latest'), digest };
}

/** The canonical form, as `kubectl get pod -o yaml` shows in containerStatuses[].image. */
export function canonical(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
