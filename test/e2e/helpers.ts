/** What the end-to-end suites share: kubectl, raw HTTPS calls, kemu, polling. */
import https from 'node:https';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type Options } from 'execa';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Container, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { parse, stringify } from 'yaml';
import { inject } from 'vitest';
import { Cluster } from '@kemu/cli';
import { CLI } from './global-setup.js';

export const ctx = () => inject('kemu');

// kubectl's discovery cache lives in the e2e cluster's home, which the global teardown removes.
const cacheDir = () => join(ctx().home, 'kubectl-cache');

export interface Run {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Run the real kubectl against the test cluster. Never throws on a non-zero exit. */
export async function kubectl(args: string[], opts: Options & { input?: string } = {}): Promise<Run> {
  const r = await execa('kubectl', ['--kubeconfig', ctx().kubeconfig, '--cache-dir', cacheDir(), ...args], { reject: false, timeout: 60_000, ...opts });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? 1 };
}

/** kubectl that must succeed; returns stdout. */
export async function k(args: string[], opts: Options & { input?: string } = {}): Promise<string> {
  const r = await kubectl(args, opts);
  if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}

/** `kubectl apply` in the namespace of these objects and YAML documents, in order. */
export function apply(ns: string, ...manifests: (object | string)[]): Promise<string> {
  const input = manifests.map((m) => (typeof m === 'string' ? m : stringify(m))).join('\n---\n');
  return k(['apply', '-n', ns, '-f', '-'], { input });
}

/** A Deployment manifest: `replicas` pods of this spec, labelled `app: <name>` (its selector) and `labels`. */
export function deploymentManifest(name: string, replicas: number, spec: PodSpec, labels: Record<string, string> = {}): Deployment {
  const template = { metadata: { labels: { app: name, ...labels } }, spec };
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec: { replicas, selector: { matchLabels: { app: name } }, template } };
}

/** A Pod manifest: these containers, the rest of the spec, and labels. */
export function podManifest(name: string, containers: Container[], spec: Omit<PodSpec, 'containers'> = {}, labels?: Record<string, string>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...(labels ? { labels } : {}) }, spec: { ...spec, containers } };
}

/**
 * The suite's cluster as `kemu` itself drives it, for what the CLI has no verb for: a service killed as `docker
 * kill` does (its restart policy does not bring it back until `kemu start`), frozen, thawed.
 */
export function cluster(): Cluster {
  const c = ctx();
  return new Cluster({ name: c.project, subnet: c.subnet, home: c.home, log: () => undefined });
}

export function kemu(...args: string[]): string {
  const c = ctx();
  return execFileSync(process.execPath, [CLI, '-p', c.project, '--subnet', c.subnet, ...args], {
    env: { ...process.env, KEMU_HOME: c.home },
    encoding: 'utf8',
  });
}

/** `kemu exec NODE -- argv`: the program, its arguments and environment. */
function kemuExec(node: string, argv: string[]): [string, string[], { env: NodeJS.ProcessEnv }] {
  const c = ctx();
  return [process.execPath, [CLI, '-p', c.project, '--subnet', c.subnet, 'exec', node, '--', ...argv], { env: { ...process.env, KEMU_HOME: c.home } }];
}

/** `kemu exec NODE -- argv` with its exit code and output (kemu() throws on a non-zero exit). */
export function onNode(node: string, ...argv: string[]): { code: number; stdout: string; stderr: string } {
  const [file, args, opts] = kemuExec(node, argv);
  const r = spawnSync(file, args, { ...opts, encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** onNode without blocking: for tests that run at once. */
export async function onNodeAsync(node: string, ...argv: string[]): Promise<Run> {
  const [file, args, opts] = kemuExec(node, argv);
  const r = await execa(file, args, { ...opts, reject: false, timeout: 60_000 });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? 1 };
}

/** The parts of a kubeconfig (as `kemu up` writes it) read here. */
export interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

interface Creds {
  server: URL;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function creds(): Creds {
  const kc = parse(readFileSync(ctx().kubeconfig, 'utf8')) as Kubeconfig;
  const b = (s: string) => Buffer.from(s, 'base64');
  return {
    server: new URL(kc.clusters[0].cluster.server),
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  };
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as JSON (else its text), as the type the caller expects: `api<Status>(...)`. The test's assertions check it. */
  body: T;
  text: string;
}

/** A raw HTTPS request to the api-server as the admin (or anonymously). */
export function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  opts: { headers?: Record<string, string>; anonymous?: boolean; raw?: Buffer | string } = {},
): Promise<ApiResponse<T>> {
  const c = creds();
  const payload = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: c.server.hostname,
        port: c.server.port,
        path,
        method,
        ca: c.ca,
        ...(opts.anonymous ? {} : { cert: c.cert, key: c.key }),
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(opts.headers ?? {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T, text });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** JSON text (a `kubectl -o json` output, a watch line) parsed as the type the caller expects; the test's assertions check it. */
export function parseJson<T = unknown>(text: string): T {
  return JSON.parse(text) as T;
}

/** Poll until `fn` returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A fresh namespace for one suite. */
export async function namespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${Math.random().toString(36).slice(2, 7)}`;
  await k(['create', 'namespace', ns]);
  return ns;
}

export const stateFile = (...p: string[]) => join(ctx().state, ...p);

export const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.52';

/** A self-signed certificate for `cn` made with openssl, as the tutorials make theirs: `<dir>/<base>.crt` and `.key`. */
export function selfSignedCert(dir: string, base: string, cn: string): { crt: string; key: string } {
  const [crt, key] = [join(dir, `${base}.crt`), join(dir, `${base}.key`)];
  const args = ['req', '-x509', '-nodes', '-days', '1', '-newkey', 'rsa:2048', '-keyout', key, '-out', crt, '-subj', `/CN=${cn}/O=${cn}`];
  execFileSync('openssl', args, { stdio: 'ignore' });
  return { crt, key };
}

/**
 * An agnhost netexec container serving HTTP on `port` (and UDP on `udpPort`), Ready once netexec answers
 * (as the Kubernetes e2e network tests do): Running alone says nothing of the listener.
 */
export function netexecContainer(name: string, o: { port?: number; udpPort?: number } = {}): Container {
  const port = o.port ?? 8080;
  return {
    name,
    image: AGNHOST,
    args: ['netexec', `--http-port=${port}`, ...(o.udpPort ? [`--udp-port=${o.udpPort}`] : [])],
    readinessProbe: { httpGet: { path: '/healthz', port }, periodSeconds: 1 },
  };
}

/** `kubectl run` arguments for an agnhost netexec pod (HTTP 8080, UDP 8081) pinned to a node. */
export function netexecRunArgs(name: string, node: string): string[] {
  const container = netexecContainer(name, { udpPort: 8081 });
  return ['run', name, `--image=${AGNHOST}`, '--overrides', JSON.stringify({ spec: { nodeName: node, containers: [container] } })];
}
