/**
 * The image catalog: which program an image reference runs, with its
 * default ENTRYPOINT, CMD and ports, and how `command` / `args` override
 * them (Kubernetes' rules: command replaces ENTRYPOINT and drops CMD; args
 * replace CMD). An image not in the catalog fails to pull, as a missing
 * image does in Kubernetes. Pure.
 *
 * Where Debian ships the real program (nginx, redis-server), the image runs
 * the node's copy with the image's own files laid over the node's root (its
 * layers: configuration, entrypoint, welcome page), so the container looks
 * as the real image does inside while the node's /etc stays untouched.
 */
import { resolve } from 'node:path';
import { findUp } from '@kemu/client';
import { canonical, parseImageRef } from '../image-ref.js';
import { PATH, type ImageUser } from './container.js';

export interface ImageEntry {
  entrypoint: string[];
  cmd: string[];
  ports: number[];
  /** The image's WORKDIR, when it has one. */
  workingDir?: string;
  /** Files the image has at fixed paths (e.g. /agnhost): images/<source> bind-mounted at target. */
  files?: { source: string; target: string }[];
  /** The image's own files: directories of images/, top first, laid over the node's root in the container. */
  layers?: string[];
  /** The image's ENV (its PATH, when its tools come first): under the container's env, which wins. */
  env?: Record<string, string>;
  /** Accounts the image's /etc/passwd has, added in the container where the node lacks them. */
  users?: ImageUser[];
  /** The image's STOPSIGNAL, when not SIGTERM. */
  stopSignal?: NodeJS.Signals;
}

export class ImageNotFoundError extends Error {
  constructor(readonly image: string) {
    super(`failed to pull and unpack image "${image}": failed to resolve reference "${image}": not found`);
  }
}

/** Where images/ is on the node: the repository's, or KEMU_IMAGES. */
// Found upwards from this module: it runs from tsc's dist/runtime/ and from the bundle at dist/ (see findUp).
export const IMAGES_DIR = process.env.KEMU_IMAGES ?? findUp(import.meta.dirname, 'images') ?? resolve(import.meta.dirname, '../../../../images');

/**
 * Where containers see it. Programs are given by this path and the runtime
 * bind-mounts IMAGES_DIR here, so they are found wherever the checkout lives
 * (a container's own /tmp would hide a checkout under /tmp).
 */
export const IMAGES_MOUNT = '/.kemu/images';

export const imagesMount = () => ({ source: IMAGES_DIR, target: IMAGES_MOUNT, readOnly: true });

const BASH: ImageEntry = { entrypoint: [], cmd: ['bash'], ports: [] };
const node = (...args: string[]) => [process.execPath, ...args];
/** A busybox image: the machine's shell, with busybox's nc and nslookup first on PATH (images/bin). */
const busybox = (d: string, ...bins: string[]): ImageEntry => ({
  entrypoint: [],
  cmd: ['sh'],
  ports: [],
  env: { PATH: [...bins.map((b) => `${d}/${b}`), `${d}/bin`, PATH].join(':') },
});

/**
 * The official nginx image: Debian's nginx in the foreground behind the
 * image's entrypoint, with its nginx.conf (including conf.d/*.conf), its
 * conf.d/default.conf, its welcome page and its logs linked to stdout and
 * stderr (nginx/rootfs); images built on it add their layer on top. Its
 * nginx.conf says `user nginx;`: the image's account, uid and gid 101. Its
 * STOPSIGNAL is SIGQUIT, nginx's graceful shutdown (SIGTERM is its fast one).
 */
const nginx = (ports: number[], ...layers: string[]): ImageEntry => ({
  entrypoint: ['/docker-entrypoint.sh'],
  cmd: ['nginx', '-g', 'daemon off;'],
  ports,
  layers: [...layers, 'nginx/rootfs'],
  users: [{ name: 'nginx', uid: 101, gid: 101 }],
  stopSignal: 'SIGQUIT',
});

/** docker.io/library/<name> and friends, by repository (without tag). */
const CATALOG: Record<string, (dir: string) => ImageEntry> = {
  'docker.io/library/nginx': () => nginx([80]),
  // Built in 2016 on the nginx image of the day, which had no STOPSIGNAL yet.
  'docker.io/bprashanth/nginxhttps': () => ({ ...nginx([80, 443], 'bprashanth/nginxhttps/rootfs'), stopSignal: undefined }),
  'docker.io/sparcflow/nginx': () => nginx([8080], 'sparcflow/nginx/rootfs'),
  // Its tools (bind9's dig/nslookup/host, curl, OpenBSD's nc, ip, iperf) are the machine's; agnhost/bin makes `nc` OpenBSD's.
  'registry.k8s.io/e2e-test-images/agnhost': (d) => ({
    entrypoint: ['/agnhost'],
    cmd: [],
    ports: [],
    files: [{ source: 'agnhost/agnhost', target: '/agnhost' }],
    env: { PATH: `${d}/agnhost/bin:${PATH}` },
  }),
  'registry.k8s.io/e2e-test-images/jessie-dnsutils': () => BASH,
  'docker.io/tutum/dnsutils': () => BASH,
  // CoreDNS is kemu's DNS server (services/dns), which needs the checkout's build and node_modules: the
  // checkout (the parent of images/) is mounted read-only at /.kemu/src, since a checkout under /tmp is not
  // visible through the container's root.
  'registry.k8s.io/coredns/coredns': () => ({
    entrypoint: ['/coredns'],
    cmd: [],
    ports: [53, 9153],
    files: [
      { source: 'coredns/coredns', target: '/coredns' },
      { source: '..', target: '/.kemu/src' },
    ],
  }),
  // ingress-nginx's controller is kemu's (services/ingress), driving the machine's nginx; like CoreDNS it runs
  // from the checkout at /.kemu/src. The image's layer has its /nginx-ingress-controller and its ENTRYPOINT,
  // `dumb-init --`, since the Deployments of ingress-nginx pass the program as the first of their args.
  'registry.k8s.io/ingress-nginx/controller': () => ({
    entrypoint: ['/usr/bin/dumb-init', '--'],
    cmd: ['/nginx-ingress-controller'],
    ports: [80, 443, 10254],
    layers: ['ingress-nginx/controller/rootfs'],
    files: [{ source: '..', target: '/.kemu/src' }],
  }),
  // The same controller as the 0.x releases of quay.io were (0.12.0 in the tutorials): the image's ENTRYPOINT was
  // `/usr/bin/dumb-init` alone, and the controller behaves as those releases did where they differ (Ingress
  // classes by the annotation only, rewrite-target, the election lock's name), told by the image's ENV.
  'quay.io/kubernetes-ingress-controller/nginx-ingress-controller': () => ({
    entrypoint: ['/usr/bin/dumb-init'],
    cmd: ['/nginx-ingress-controller'],
    ports: [80, 443, 10254],
    layers: ['ingress-nginx/controller/rootfs'],
    files: [{ source: '..', target: '/.kemu/src' }],
    env: { KEMU_INGRESS_NGINX_RELEASE: '0.x' },
  }),
  // Kubernetes' 404-server, ingress-nginx's default backend until 0.2x: 404 on every path, 200 on /healthz, on 8080.
  'registry.k8s.io/defaultbackend': () => ({
    entrypoint: ['/server'],
    cmd: [],
    ports: [8080],
    files: [{ source: 'defaultbackend/server', target: '/server' }],
  }),
  'registry.k8s.io/pause': (d) => ({ entrypoint: ['/bin/sh', `${d}/pause/pause.sh`], cmd: [], ports: [] }),
  // Debian's redis-server behind the image's entrypoint, in /data, as the redis user (uid 999 in the image).
  'docker.io/library/redis': () => ({
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['redis-server'],
    ports: [6379],
    workingDir: '/data',
    layers: ['redis/rootfs'],
    users: [{ name: 'redis', uid: 999, gid: 999, home: '/home/redis' }],
  }),
  'docker.io/jonbaier/node-express-info': (d) => ({ entrypoint: [], cmd: node(`${d}/jonbaier/node-express-info/server.mjs`, '80'), ports: [80] }),
  'docker.io/jonbaier/node-express-multi': (d) => ({
    entrypoint: [],
    cmd: node(`${d}/jonbaier/node-express-info/server.mjs`, '80', '8888'),
    ports: [80, 8888],
  }),
  'docker.io/jonbaier/httpwhalesay': (d) => ({ entrypoint: [], cmd: ['node', 'index.js'], ports: [80], workingDir: `${d}/jonbaier/httpwhalesay` }),
  'docker.io/library/busybox': (d) => busybox(d),
  'docker.io/library/alpine': (d) => busybox(d),
  'docker.io/radial/busyboxplus': (d) => busybox(d, 'radial/busyboxplus/bin'),
  'docker.io/curlimages/curl': (d) => ({ entrypoint: ['/bin/sh', `${d}/bin/curl-entrypoint.sh`], cmd: ['curl'], ports: [] }),
  'docker.io/library/debian': () => BASH,
  'docker.io/library/ubuntu': () => BASH,
};

/** Old registries that name the same images. */
const ALIASES: Record<string, string> = {
  'k8s.gcr.io/pause': 'registry.k8s.io/pause',
  'k8s.gcr.io/defaultbackend': 'registry.k8s.io/defaultbackend',
  'gcr.io/google_containers/defaultbackend': 'registry.k8s.io/defaultbackend',
  'gcr.io/google-containers/defaultbackend': 'registry.k8s.io/defaultbackend',
  'k8s.gcr.io/defaultbackend-amd64': 'registry.k8s.io/defaultbackend',
  'registry.k8s.io/defaultbackend-amd64': 'registry.k8s.io/defaultbackend',
  'k8s.gcr.io/ingress-nginx/controller': 'registry.k8s.io/ingress-nginx/controller',
  'k8s.gcr.io/coredns/coredns': 'registry.k8s.io/coredns/coredns',
  'k8s.gcr.io/coredns': 'registry.k8s.io/coredns/coredns',
  'k8s.gcr.io/e2e-test-images/agnhost': 'registry.k8s.io/e2e-test-images/agnhost',
  'gcr.io/kubernetes-e2e-test-images/agnhost': 'registry.k8s.io/e2e-test-images/agnhost',
  'gcr.io/google-containers/pause': 'registry.k8s.io/pause',
  'k8s.gcr.io/e2e-test-images/jessie-dnsutils': 'registry.k8s.io/e2e-test-images/jessie-dnsutils',
  'gcr.io/kubernetes-e2e-test-images/dnsutils': 'registry.k8s.io/e2e-test-images/jessie-dnsutils',
  'k8s.gcr.io/e2e-test-images/dnsutils': 'registry.k8s.io/e2e-test-images/jessie-dnsutils',
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
