/**
 * Files a program reads at run time from its own checkout (the api-server's OpenAPI definitions, the kubelet's
 * images/), found from the directory of the running module upwards. A fixed relative path would hold for one layout
 * only: the same code runs from tsc's dist/ tree (one file per module, at several depths) and from the one-file
 * bundle the compose file runs (scripts/bundle.mjs, at dist/bundle.mjs).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The first `dir/rel`, for dir = `from` and each of its ancestors, that exists; undefined when none does. */
export function findUp(from: string, rel: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
