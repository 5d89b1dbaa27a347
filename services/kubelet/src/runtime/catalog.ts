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

/** docker.io/library/<name> and friends, by repository (without tag). */
const CATALOG: Record<string, (dir: string) => ImageEntry> = {
  'docker.io/library/nginx': (d) => ({ entrypoint: [], cmd: [process.execPath, `${d}/nginx/nginx.mjs`], ports: [80] }),
  'registry.k8s.io/pause': (d) => ({ entrypoint: ['/bin/sh', `${d}/pause/pause.sh`], cmd: [], ports: [] }),
  'docker.io/library/busybox': () => SHELL,
  'docker.io/library/alpine': () => SHELL,
  'docker.io/library/debian': () => ({ entrypoint: [], cmd: ['bash'], ports: [] }),
  'docker.io/library/ubuntu': () => ({ entrypoint: [], cmd: ['bash'], ports: [] }),
};

export function lookupImage(image: string, dir = IMAGES_MOUNT): ImageEntry & { canonical: string } {
  let ref;
  try {
    ref = parseImageRef(image);
  } catch {
    throw new ImageNotFoundError(image);
  }
  const entry = CATALOG[`${ref.registry}/${ref.repository}`];
  if (!entry) throw new ImageNotFoundError(image);
  return { ...entry(dir), canonical: canonical(ref) };
}

/** The argv a container runs: Kubernetes' command/args rules over the image's ENTRYPOINT/CMD. */
export function containerArgv(entry: ImageEntry, command?: string[], args?: string[]): string[] {
  if (command?.length) return [...command, ...(args ?? [])];
  return [...entry.entrypoint, ...(args?.length ? args : entry.cmd)];
}
