/**
 * The image catalog: which program an image reference runs, with its
 * default ENTRYPOINT, CMD and ports, and how `command` / `args` override
 * them (Kubernetes' rules: command replaces ENTRYPOINT and drops CMD; args
 * replace CMD). An image not in the catalog fails to pull, as a missing
 * image does in Kubernetes. Pure.
 */
import { resolve } from 'node:path';
import { canonical, parseImageRef } from '../image-ref.js';

export interface ImageEntry {
  entrypoint: string[];
  cmd: string[];
  ports: number[];
  /** The image's WORKDIR, when it has one. */
  workingDir?: string;
  /** Files the image has at fixed paths (e.g. /agnhost): images/<source> bind-mounted at target. */
  files?: { source: string; target: string }[];
}

export class ImageNotFoundError extends Error {
  constructor(readonly image: string) {
    super(`failed to pull and unpack image "${image}": failed to resolve reference "${image}": not found`);
  }
}

/** Where images/ is on the node: the repository's, or KEMU_IMAGES. */
export const IMAGES_DIR = process.env.KEMU_IMAGES ?? resolve(import.meta.dirname, '../../../../images');

/**
 * Where containers see it. Programs are given by this path and the runtime
 * bind-mounts IMAGES_DIR here, so they are found wherever the checkout lives
 * (a container's own /tmp would hide a checkout under /tmp).
 */
export const IMAGES_MOUNT = '/.kemu/images';

export const imagesMount = () => ({ source: IMAGES_DIR, target: IMAGES_MOUNT, readOnly: true });

const SHELL: ImageEntry = { entrypoint: [], cmd: ['sh'], ports: [] };
const BASH: ImageEntry = { entrypoint: [], cmd: ['bash'], ports: [] };
const node = (...args: string[]) => [process.execPath, ...args];

/** docker.io/library/<name> and friends, by repository (without tag). */
const CATALOG: Record<string, (dir: string) => ImageEntry> = {
  'docker.io/library/nginx': (d) => ({ entrypoint: [], cmd: node(`${d}/nginx/nginx.mjs`), ports: [80] }),
  'docker.io/bprashanth/nginxhttps': (d) => ({ entrypoint: [], cmd: node(`${d}/nginx/nginx.mjs`), ports: [80, 443] }),
  'docker.io/sparcflow/nginx': (d) => ({ entrypoint: [], cmd: node(`${d}/sparcflow/nginx.mjs`), ports: [8080] }),
  'registry.k8s.io/e2e-test-images/agnhost': () => ({ entrypoint: ['/agnhost'], cmd: [], ports: [], files: [{ source: 'agnhost/agnhost', target: '/agnhost' }] }),
  'registry.k8s.io/pause': (d) => ({ entrypoint: ['/bin/sh', `${d}/pause/pause.sh`], cmd: [], ports: [] }),
  'docker.io/library/redis': (d) => ({ entrypoint: node(`${d}/redis/redis.mjs`), cmd: [], ports: [6379] }),
  'docker.io/jonbaier/node-express-info': (d) => ({ entrypoint: [], cmd: node(`${d}/jonbaier/node-express-info/server.mjs`, '80'), ports: [80] }),
  'docker.io/jonbaier/node-express-multi': (d) => ({ entrypoint: [], cmd: node(`${d}/jonbaier/node-express-info/server.mjs`, '80', '8888'), ports: [80, 8888] }),
  'docker.io/jonbaier/httpwhalesay': (d) => ({ entrypoint: [], cmd: ['node', 'index.js'], ports: [80], workingDir: `${d}/jonbaier/httpwhalesay` }),
  'docker.io/library/busybox': () => SHELL,
  'docker.io/library/alpine': () => SHELL,
  'docker.io/radial/busyboxplus': () => SHELL,
  'docker.io/curlimages/curl': (d) => ({ entrypoint: ['/bin/sh', `${d}/bin/curl-entrypoint.sh`], cmd: ['curl'], ports: [] }),
  'docker.io/library/debian': () => BASH,
  'docker.io/library/ubuntu': () => BASH,
};

/** Old registries that name the same images. */
const ALIASES: Record<string, string> = {
  'k8s.gcr.io/pause': 'registry.k8s.io/pause',
  'k8s.gcr.io/e2e-test-images/agnhost': 'registry.k8s.io/e2e-test-images/agnhost',
  'gcr.io/kubernetes-e2e-test-images/agnhost': 'registry.k8s.io/e2e-test-images/agnhost',
  'gcr.io/google-containers/pause': 'registry.k8s.io/pause',
};

export function lookupImage(image: string, dir = IMAGES_MOUNT): ImageEntry & { canonical: string } {
  let ref;
  try {
    ref = parseImageRef(image);
  } catch {
    throw new ImageNotFoundError(image);
  }
  const name = `${ref.registry}/${ref.repository}`;
  const entry = CATALOG[ALIASES[name] ?? name];
  if (!entry) throw new ImageNotFoundError(image);
  return { ...entry(dir), canonical: canonical(ref) };
}

/** The argv a container runs: Kubernetes' command/args rules over the image's ENTRYPOINT/CMD. */
export function containerArgv(entry: ImageEntry, command?: string[], args?: string[]): string[] {
  if (command?.length) return [...command, ...(args ?? [])];
  return [...entry.entrypoint, ...(args?.length ? args : entry.cmd)];
}
