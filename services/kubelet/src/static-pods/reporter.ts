/**
 * The kubelet's static pods (--pod-manifest-path): every round it reads the
 * manifests, keeps one mirror pod per manifest in the API (created when
 * missing — a user's delete is undone, as the kubelet does — replaced when the
 * manifest changed, removed when the manifest is gone), observes each pod's
 * process (its probe, its /metrics start time) and posts the status when it
 * changed. The processes are kemu's own (see mirror.ts); nothing is started here.
 *
 * A manifest is a Pod in YAML or JSON; `${VAR}` and `${VAR:-default}` in it are
 * the kubelet's environment (kemu's manifests are templates of the compose
 * variables, as the compose file is).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { parse } from 'yaml';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isNotFound, type KubeObject } from '@kemu/api';
import { sleep, type ApiClient } from '@kemu/client';
import { runHandler } from '../probes.js';
import {
  ADDRESS_ANNOTATION,
  HASH_ANNOTATION,
  METRICS_ANNOTATION,
  isMirrorPod,
  manifestHash,
  mirrorName,
  mirrorPod,
  mirrorStatus,
  processStartTime,
  statusChanged,
  type Observation,
} from './mirror.js';

const PODS = { version: 'v1', resource: 'pods' };
const NODES = { version: 'v1', resource: 'nodes' };
const asPod = (o: KubeObject): Pod => o as unknown as Pod;
const toApi = (p: Pod): KubeObject => p as unknown as KubeObject;

export interface StaticPodOptions {
  /** The manifests' directory. */
  dir: string;
  nodeName: string;
  nodeIP: string;
  /** Between rounds. */
  periodMs: number;
  /** A bearer token for metrics served over HTTPS (the api-server's /metrics wants a caller), or */
  token?: string;
  /** the node's client certificate (TLS bootstrapping). */
  clientCert?: { cert: string; key: string };
}

/** `${VAR}` and `${VAR:-default}` from `env`. Pure. */
export function expandVars(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, def: string | undefined) => env[name] || def || '');
}

/** The manifests in `dir` (sorted by file name); one that does not parse is logged and skipped. */
export function readManifests(dir: string, log: Logger): Pod[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f) && !f.startsWith('.'))
      .sort();
  } catch (e) {
    log.warn({ dir, err: (e as Error).message }, 'static pod manifests not readable');
    return [];
  }
  const out: Pod[] = [];
  for (const f of files) {
    try {
      const pod = parse(expandVars(readFileSync(join(dir, f), 'utf8'), process.env)) as Pod;
      if (pod?.kind !== 'Pod' || !pod.spec?.containers?.length) throw new Error('not a Pod with containers');
      out.push(pod);
    } catch (e) {
      log.warn({ file: join(dir, f), err: (e as Error).message }, 'static pod manifest skipped');
    }
  }
  return out;
}

/** GET a URL (TLS not verified, as the kubelet's probes); the body, or the failure as a message. */
function get(url: string, o: Pick<StaticPodOptions, 'token' | 'clientCert'>, timeoutMs: number): Promise<{ body?: string; error?: string }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const tls = u.protocol === 'https:';
    const headers: Record<string, string> = tls && o.token ? { Authorization: `Bearer ${o.token}` } : {};
    const cert = tls && !o.token ? o.clientCert : undefined;
    const req = (tls ? httpsRequest : httpRequest)(u, { headers, timeout: timeoutMs, rejectUnauthorized: false, ...cert }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve((res.statusCode ?? 0) < 400 ? { body } : { error: `${url}: HTTP ${res.statusCode}` }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ error: `${url}: ${e.message}` }));
    req.end();
  });
}

/** One look at a static pod's process. */
async function observe(pod: Pod, o: StaticPodOptions): Promise<Observation> {
  const c = pod.spec!.containers[0];
  const probe = c.readinessProbe ?? c.livenessProbe ?? c.startupProbe;
  const podIP = pod.metadata?.annotations?.[ADDRESS_ANNOTATION] ?? o.nodeIP;
  const timeoutMs = Math.max(1000, (probe?.timeoutSeconds ?? 1) * 1000);
  const [probed, metrics] = await Promise.all([
    probe ? runHandler(probe, { podIP, ports: c.ports ?? [], exec: () => Promise.reject(new Error('no exec')) }, timeoutMs) : undefined,
    pod.metadata?.annotations?.[METRICS_ANNOTATION] ? get(pod.metadata.annotations[METRICS_ANNOTATION], o, timeoutMs) : undefined,
  ]);
  const startedAt = metrics?.body ? processStartTime(metrics.body) : undefined;
  // Alive: its metrics answered, or (without metrics) its probe got any HTTP answer or passed.
  const alive = metrics ? !!metrics.body : probed ? probed.ok || /statuscode/.test(probed.message) : true;
  return { alive, ready: alive && (probed?.ok ?? true), startedAt, error: metrics?.error ?? probed?.message };
}

/** One round: manifests → mirror pods → statuses. */
async function round(client: ApiClient, o: StaticPodOptions, log: Logger): Promise<void> {
  const manifests = readManifests(o.dir, log);
  const node = await client.get(NODES, o.nodeName);
  const nodeRef = { name: o.nodeName, uid: node.metadata.uid ?? '' };
  const listed = await client.list(PODS, { fieldSelector: `spec.nodeName=${o.nodeName}` });
  const mirrors = new Map(
    listed.items
      .map(asPod)
      .filter(isMirrorPod)
      .map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]),
  );
  const wanted = new Set<string>();
  for (const manifest of manifests) {
    const name = mirrorName(manifest, o.nodeName);
    const namespace = manifest.metadata?.namespace ?? 'default';
    const key = `${namespace}/${name}`;
    wanted.add(key);
    let pod = mirrors.get(key);
    // Replaced when its manifest changed; a deleted one (kubectl delete waits for the kubelet to finish it) is
    // removed at once and made again, as the kubelet does with a mirror pod.
    if (pod && (pod.metadata?.annotations?.[HASH_ANNOTATION] !== manifestHash(manifest) || pod.metadata?.deletionTimestamp)) {
      await client.delete({ ...PODS, namespace }, name, { gracePeriodSeconds: 0 }).catch(() => undefined);
      pod = undefined;
    }
    if (!pod) {
      pod = asPod(await client.create({ ...PODS, namespace }, toApi(mirrorPod(manifest, nodeRef))));
      log.info({ pod: key }, 'mirror pod created');
    }
    const status = mirrorStatus(pod, pod.status, await observe(pod, o), o.nodeIP, new Date());
    if (statusChanged(pod.status, status)) await client.update({ ...PODS, namespace }, toApi({ ...pod, status }), 'status');
  }
  for (const [key, p] of mirrors) {
    if (wanted.has(key)) continue;
    await client.delete({ ...PODS, namespace: p.metadata?.namespace }, p.metadata?.name ?? '', { gracePeriodSeconds: 0 }).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
    log.info({ pod: key }, 'mirror pod of a removed manifest deleted');
  }
}

/** Report the static pods until `signal` aborts; a failed round is logged and the next one tried. */
export async function runStaticPods(client: ApiClient, o: StaticPodOptions, log: Logger, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      await round(client, o, log);
    } catch (e) {
      log.warn({ err: e }, 'static pods round failed');
    }
    await sleep(o.periodMs, signal);
  }
}
