/**
 * The image every service of the compose file runs (kemu:dev), built by the Docker driver on compose/Dockerfile.
 *
 * Two ways, the Dockerfile's stages: `source` (its default, what a plain `docker compose build` makes from a clean
 * clone: `npm ci && npm run build` in the image, ~25 minutes on two cores) and `prebuilt`, which copies the tree the
 * host has already built — the one this `kemu` runs from — with its production node_modules, sent as a tar context
 * (no .dockerignore applies to it): seconds. The host's tree can go into the image when the host is what the image
 * is: Linux x64 with node 20 (node_modules may hold native code for the host; the image is Debian 12 with node 20).
 *
 * Both build the `tools` stage first (the base and the Debian packages, cached: it rarely changes), tagged kemu:tools
 * so that `docker rmi kemu:dev` keeps it. A prebuilt image carries a label with the tree's fingerprint, so that `up`
 * can say when the image is older than the tree (`kemu build` builds it again).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { KemuError } from '../errors.js';

/** The image every service of the compose file runs (its `image:`). */
export const KEMU_IMAGE = 'kemu:dev';
/** The Dockerfile's `tools` stage: the base image and the Debian packages. */
export const TOOLS_IMAGE = 'kemu:tools';
/** What scripts/docker-base.sh assembles where node:20-bookworm-slim cannot be pulled. */
export const LOCAL_BASE_IMAGE = 'kemu-base:node20-bookworm-slim';
/** The label holding a prebuilt image's tree fingerprint. */
const TREE_LABEL = 'dev.kemu.tree';

export type ImageFrom = 'host' | 'source';

/** Where a host's built tree can go into the image as it is: Linux x64, node 20 (the image's platform). */
export function hostTreeFits(platform: string, arch: string, nodeVersion: string): boolean {
  return platform === 'linux' && arch === 'x64' && /^v20\./.test(nodeVersion);
}

/**
 * What a build should use: KEMU_IMAGE_FROM when set (host or source), else the host's tree where it fits and is
 * built, else the sources.
 */
export function chooseImageFrom(env: string | undefined, fits: boolean, built: boolean): ImageFrom {
  if (env === 'host' || env === 'source') {
    if (env === 'host' && !(fits && built)) throw new KemuError('KEMU_IMAGE_FROM=host: the tree is not built, or this host is not Linux x64 with node 20');
    return env;
  }
  if (env) throw new KemuError(`KEMU_IMAGE_FROM: "${env}" is not one of host, source`);
  return fits && built ? 'host' : 'source';
}

/**
 * The paths (relative to the repository) a prebuilt context holds: every top-level entry but the repository's
 * metadata, caches and node_modules, then the production dependencies npm lists — each once (a dependency nested in
 * one already listed goes with it).
 */
export function contextPaths(topLevel: string[], prodDeps: string[]): string[] {
  const skip = new Set(['.git', '.turbo', 'node_modules', '.dockerignore']);
  const deps = [...new Set(prodDeps.filter((p) => p.startsWith('node_modules/')))].sort();
  const kept = deps.filter((p) => !deps.some((q) => q !== p && p.startsWith(`${q}/`)));
  return [...topLevel.filter((e) => !skip.has(e)).sort(), ...kept];
}

/** A fingerprint of the files under the paths (names, sizes, modification times): changes when the tree is rebuilt. */
export function treeFingerprint(root: string, paths: string[]): string {
  const h = createHash('sha256');
  const walk = (p: string): void => {
    const st = lstatSync(p);
    h.update(`${relative(root, p)}\0${st.size}\0${Math.floor(st.mtimeMs)}\n`);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) if (e !== '.turbo' && !e.endsWith('.tsbuildinfo') && e !== 'node_modules') walk(join(p, e));
  };
  for (const p of paths) walk(join(root, p));
  return h.digest('hex').slice(0, 16);
}

export interface BuildOptions {
  repoRoot: string;
  /** The Dockerfile's KEMU_BASE_IMAGE. */
  base: string;
  from: ImageFrom;
  log: (line: string) => void;
}

/** Seconds each step took (printed by `kemu build`, and by `up` when it builds). */
export interface BuildFigures {
  from: ImageFrom;
  toolsSeconds: number;
  /** The tree copied (prebuilt) or installed and built in the image (source). */
  treeSeconds: number;
  contextMB?: number;
}

const dockerfile = (root: string) => join(root, 'compose', 'Dockerfile');
const seconds = (t0: number) => Math.round((Date.now() - t0) / 100) / 10;

/** The production dependencies' directories, as npm resolves them (workspaces included), relative to the root. */
async function prodDeps(root: string): Promise<string[]> {
  const r = await execa('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, reject: false, stdin: 'ignore' });
  // npm ls exits 1 on extraneous or invalid packages but still lists what is installed.
  const lines = String(r.stdout).split('\n').filter(Boolean);
  if (!lines.length) throw new KemuError(`npm ls --omit=dev listed nothing in ${root}: ${String(r.stderr).split('\n')[0] ?? ''}`);
  return lines.map((l) => relative(root, l)).filter((l) => l && !l.startsWith('..'));
}

/** What the host's tree would put in a prebuilt image, and its fingerprint. */
export async function hostContext(root: string): Promise<{ paths: string[]; fingerprint: string }> {
  const paths = contextPaths(readdirSync(root), await prodDeps(root));
  return { paths, fingerprint: treeFingerprint(root, paths) };
}

/** The fingerprint label of an image; undefined when there is no such image (or no label). */
export async function imageTree(image: string): Promise<string | undefined> {
  const r = await execa('docker', ['image', 'inspect', '-f', `{{index .Config.Labels "${TREE_LABEL}"}}`, image], { reject: false, stdin: 'ignore' });
  return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
}

export async function imageExists(image: string): Promise<boolean> {
  return (await execa('docker', ['image', 'inspect', image], { reject: false, stdin: 'ignore' })).exitCode === 0;
}

/** The base to build on: KEMU_BASE_IMAGE, else what scripts/docker-base.sh assembled, else the official image. */
export async function baseImage(): Promise<string> {
  return process.env.KEMU_BASE_IMAGE || ((await imageExists(LOCAL_BASE_IMAGE)) ? LOCAL_BASE_IMAGE : 'node:20-bookworm-slim');
}

async function dockerBuild(args: string[], input?: { tarFrom: string; paths: string[] }): Promise<void> {
  // The build's RUN steps use the host's network: they need no NAT from dockerd (which may run without iptables).
  const common = ['build', '--network', 'host', '-q'];
  let r;
  if (input) {
    // `tar | docker build -`: the context is exactly these paths; symbolic links (the workspaces' node_modules/@kemu/*)
    // stay links.
    r = await execa('tar', ['-c', '-C', input.tarFrom, '--exclude=.turbo', '--exclude=*.tsbuildinfo', '--', ...input.paths], {
      stdin: 'ignore',
      buffer: false,
    })
      .pipe('docker', [...common, ...args, '-'], { reject: false, all: true })
      .catch((e: unknown) => ({ exitCode: 1, all: String(e) }));
  } else {
    r = await execa('docker', [...common, ...args], { reject: false, stdin: 'ignore', all: true });
  }
  if (r.exitCode !== 0) throw new KemuError(`docker build failed:\n${String(r.all).split('\n').slice(-15).join('\n')}`);
}

/** Build kemu:tools, then kemu:dev from the host's tree or from the sources. */
export async function buildImage(o: BuildOptions): Promise<BuildFigures> {
  const df = dockerfile(o.repoRoot);
  const baseArg = ['--build-arg', `KEMU_BASE_IMAGE=${o.base}`];
  let t0 = Date.now();
  // The tools stage needs no context: send the Dockerfile alone (a full context would be read and sent for nothing).
  await dockerBuild([...baseArg, '--target', 'tools', '-t', TOOLS_IMAGE, '-f', 'compose/Dockerfile'], {
    tarFrom: o.repoRoot,
    paths: ['compose/Dockerfile'],
  });
  const toolsSeconds = seconds(t0);
  o.log(`  image ${TOOLS_IMAGE}: base ${o.base} and the Debian packages, ${toolsSeconds} s`);
  t0 = Date.now();
  if (o.from === 'source') {
    await dockerBuild([...baseArg, '-t', KEMU_IMAGE, '-f', df, o.repoRoot]);
    const treeSeconds = seconds(t0);
    o.log(`  image ${KEMU_IMAGE}: npm ci and the build in the image, ${treeSeconds} s`);
    return { from: 'source', toolsSeconds, treeSeconds };
  }
  const { paths, fingerprint } = await hostContext(o.repoRoot);
  const du = await execa('du', ['-sck', '--exclude=.turbo', '--', ...paths], { cwd: o.repoRoot, reject: false, stdin: 'ignore' });
  const contextMB = Math.round(Number(/^(\d+)\s+total$/m.exec(String(du.stdout))?.[1] ?? 0) / 1024);
  await dockerBuild([...baseArg, '--target', 'prebuilt', '--label', `${TREE_LABEL}=${fingerprint}`, '-t', KEMU_IMAGE, '-f', 'compose/Dockerfile'], {
    tarFrom: o.repoRoot,
    paths,
  });
  const treeSeconds = seconds(t0);
  o.log(`  image ${KEMU_IMAGE}: the host's built tree (${contextMB} MB) copied, ${treeSeconds} s`);
  // The kemu:dev it replaced, now untagged (no container uses it, or prune keeps it): each rebuild would leave one.
  await execa('docker', ['image', 'prune', '-f', '--filter', `label=${TREE_LABEL}`], { reject: false, stdin: 'ignore' });
  return { from: 'host', toolsSeconds, treeSeconds, contextMB };
}

/**
 * What `up` needs: kemu:dev, built when missing (`docker rmi kemu:dev` or `kemu build` makes a new one). An image
 * built from another state of the host's tree is used as it is — rebuilding it under a running cluster would make
 * compose recreate every container — with a warning that says how to refresh it.
 */
export async function ensureImage(repoRoot: string, log: (line: string) => void): Promise<BuildFigures | undefined> {
  const label = await imageTree(KEMU_IMAGE);
  if (label === undefined) return buildImage({ repoRoot, base: await baseImage(), from: imageFrom(repoRoot, process.env.KEMU_IMAGE_FROM), log });
  if (label && label !== (await hostContext(repoRoot)).fingerprint)
    log(`  image ${KEMU_IMAGE}: built from another state of this tree (kemu build refreshes it)`);
  return undefined;
}

function imageFrom(repoRoot: string, wanted: string | undefined): ImageFrom {
  const fits = hostTreeFits(process.platform, process.arch, process.version);
  const built = existsSync(join(repoRoot, 'services', 'cli', 'dist', 'bundle.mjs')) && existsSync(join(repoRoot, 'node_modules'));
  return chooseImageFrom(wanted, fits, built);
}

/** `kemu build [--from host|source]`: kemu:dev built now, whatever is there; the figures printed. */
export async function buildImageCommand(repoRoot: string, fromFlag: string | undefined): Promise<BuildFigures> {
  const from = imageFrom(repoRoot, fromFlag ?? process.env.KEMU_IMAGE_FROM);
  const base = await baseImage();
  const t0 = Date.now();
  console.log(`Building ${KEMU_IMAGE} on ${base} from ${from === 'host' ? "this host's built tree" : 'the sources'}`);
  const f = await buildImage({ repoRoot, base, from, log: (l) => console.log(l) });
  console.log(`Built ${KEMU_IMAGE} in ${seconds(t0)} s`);
  return f;
}
