/**
 * Add-ons (cluster DNS, …) are plain manifests in compose/addons/, applied by
 * `kemu up` once the nodes are Ready, as k3s applies its manifests: each
 * object is created when it does not exist and left alone when it does, so a
 * second `up` changes nothing and what a user edited stays edited. A user who
 * deletes an add-on can apply the same file again with kubectl.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { groupVersion, isPlainObject, lookupKind } from '@kemu/api';
import { adminRequest, type AdminApi } from './admin-api.js';
import { KemuError } from './errors.js';
import type { ClusterSettings } from './settings.js';

export interface AddonObject {
  file: string;
  kind: string;
  name: string;
  namespace?: string;
  /** The collection to POST to. */
  path: string;
  body: Record<string, unknown>;
}

/** The objects of the manifests in `dir` (every *.yaml, in name order) with where each is created. Pure but for reading the files. */
export function addonObjects(dir: string): AddonObject[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  return files.flatMap((file) => parseAllDocuments(readFileSync(join(dir, file), 'utf8')).flatMap((doc) => toAddon(file, doc.toJS() as unknown)));
}

function toAddon(file: string, obj: unknown): AddonObject[] {
  if (!isPlainObject(obj)) return [];
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const meta = isPlainObject(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const info = lookupKind(apiVersion, kind);
  if (!info || !name) throw new Error(`${file}: ${kind || 'an object'} ${name} (${apiVersion}): not a kind this api-server serves`);
  const namespace = info.namespaced ? (typeof meta.namespace === 'string' ? meta.namespace : 'default') : undefined;
  const base = info.group ? `/apis/${groupVersion(info)}` : `/api/${info.version}`;
  const path = `${base}${namespace ? `/namespaces/${namespace}` : ''}/${info.resource}`;
  return [{ file, kind, name, namespace, path, body: obj }];
}

/**
 * The DNS add-on without its `forward` block: names outside the cluster then
 * get a fast SERVFAIL instead of waiting on the node's resolver. For machines
 * whose resolver the cluster's namespaces cannot (or must not) reach — the
 * test suites set KEMU_DNS_FORWARD=off. Pure.
 */
export function withoutDnsForward(objects: AddonObject[]): AddonObject[] {
  return objects.map((o) => {
    const data = o.kind === 'ConfigMap' && o.name === 'coredns' && isPlainObject(o.body.data) ? o.body.data : undefined;
    if (!data || typeof data.Corefile !== 'string') return o;
    const Corefile = data.Corefile.replace(/^[ \t]*forward\b[^\n{]*(\{[^}]*\})?[^\n]*\n/m, '');
    return { ...o, body: { ...o.body, data: { ...data, Corefile } } };
  });
}

/** The file of the cluster DNS add-on (kube-dns Service, coredns Deployment and Corefile). */
export const DNS_ADDON = 'dns.yaml';

/**
 * The add-ons for a cluster's settings, as kubeadm templates its DNS add-on: the kube-dns Service at the DNS
 * address, the Corefile's kubernetes zone the cluster domain, the coredns replicas; with the pre-1.2 names, the
 * server's `--legacy-names` (kemu's DNS server's flag: CoreDNS has no such option). `dns: false` leaves the DNS
 * add-on out. The manifest in compose/addons stays plain (kubectl apply -f works on it): the defaults are its
 * values. Pure.
 */
export function withClusterSettings(objects: AddonObject[], s: ClusterSettings): AddonObject[] {
  return objects.flatMap((o): AddonObject[] => {
    if (o.file !== DNS_ADDON) return [o];
    if (!s.dns) return [];
    const spec = isPlainObject(o.body.spec) ? o.body.spec : {};
    if (o.kind === 'Service' && o.name === 'kube-dns') return [{ ...o, body: { ...o.body, spec: { ...spec, clusterIP: s.dnsIP } } }];
    if (o.kind === 'ConfigMap' && o.name === 'coredns' && isPlainObject(o.body.data) && typeof o.body.data.Corefile === 'string') {
      const Corefile = o.body.data.Corefile.replace(/^([ \t]*kubernetes[ \t]+)\S+/m, `$1${s.clusterDomain}`);
      return [{ ...o, body: { ...o.body, data: { ...o.body.data, Corefile } } }];
    }
    if (o.kind === 'Deployment' && o.name === 'coredns') {
      const template = isPlainObject(spec.template) ? spec.template : {};
      const podSpec = isPlainObject(template.spec) ? template.spec : {};
      const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
      const withLegacy = containers.map((c: unknown) =>
        s.dnsLegacyNames && isPlainObject(c) && Array.isArray(c.args) ? { ...c, args: [...(c.args as unknown[]), '--legacy-names'] } : c,
      );
      const podTemplate = { ...template, spec: { ...podSpec, containers: withLegacy } };
      return [{ ...o, body: { ...o.body, spec: { ...spec, replicas: s.dnsReplicas, template: podTemplate } } }];
    }
    return [o];
  });
}

/**
 * The cluster DNS add-on's objects, then the others. `kemu up` applies the first, waits until the DNS answers, then
 * applies the others: on two cores the ingress controller's pods starting beside CoreDNS's (a Node program and an
 * nginx each) held the DNS back by about a second, and nothing waits for them. Pure.
 */
export function dnsFirst(objects: AddonObject[]): { dns: AddonObject[]; rest: AddonObject[] } {
  return { dns: objects.filter((o) => o.file === DNS_ADDON), rest: objects.filter((o) => o.file !== DNS_ADDON) };
}

/** Create what is missing; returns what was created. Throws on anything but created or already there. */
export async function applyAddons(api: AdminApi, objects: AddonObject[]): Promise<AddonObject[]> {
  const created: AddonObject[] = [];
  for (const o of objects) {
    // A Service is asked for first, not only left to a 409: creating one that exists with its fixed clusterIP fails
    // on the address (422, "provided IP is already allocated"), as in Kubernetes, before any AlreadyExists.
    const exists = async () => (await adminRequest(api, 'GET', `${o.path}/${encodeURIComponent(o.name)}`)).status === 200;
    if (o.kind === 'Service' && (await exists())) continue;
    const res = await adminRequest(api, 'POST', o.path, o.body);
    if (res.status === 201 || res.status === 200) created.push(o);
    // Another refusal of an object that is there (its namespace terminating: 403) leaves it alone too.
    else if (res.status !== 409 && !(await exists()))
      throw new Error(`${o.file}: creating ${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}: ${res.status} ${statusMessage(res.body)}`);
  }
  return created;
}

function statusMessage(body: string): string {
  try {
    const s = JSON.parse(body) as { message?: unknown };
    return typeof s.message === 'string' ? s.message : body;
  } catch {
    return body;
  }
}

/**
 * Whether the cluster DNS answers: one query for the kubernetes Service, sent
 * from a node's network namespace (the host does not reach ClusterIPs) with
 * bind9's dig, which setup installs.
 */
export function dnsAnswers(netns: string, dnsIP: string, zone = 'cluster.local'): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', 'dig', '+short', '+time=1', '+tries=1', `@${dnsIP}`, `kubernetes.default.svc.${zone}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => (out += d));
    p.on('error', () => resolve(false));
    p.on('close', (code) => resolve(code === 0 && /^\d+\.\d+\.\d+\.\d+$/m.test(out)));
  });
}

/** Ask every 250 ms until the cluster DNS answers (true) or `timeoutMs` pass (false). */
export async function waitDnsAnswers(answers: () => Promise<boolean>, timeoutMs = 90_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await answers())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
  return true;
}

/** How `kemu up` reaches the cluster it starts the add-ons of: each driver's own. */
export interface AddonStart {
  api: AdminApi;
  /** The checkout whose compose/addons are applied. */
  repoRoot: string;
  settings: ClusterSettings;
  /** Whether the cluster DNS answers one query now (dnsAnswers, or dig in a node container). */
  answers: () => Promise<boolean>;
  log: (line: string) => void;
  /** ` (N.N s)` since `kemu up` began, or nothing. */
  elapsed: () => string;
}

/**
 * The add-ons of a cluster whose nodes are Ready (compose/addons, for its settings; without the DNS `forward` block
 * under KEMU_DNS_FORWARD=off): the DNS one, the DNS answering, then the others (dnsFirst). Not the DNS one before the
 * nodes are Ready, as kubeadm applies CoreDNS: its pods, found unschedulable, would wait out the scheduler's
 * back-off (1 s from their first try), longer than they gain.
 */
export async function startAddons(o: AddonStart): Promise<void> {
  const all = withClusterSettings(addonObjects(join(o.repoRoot, 'compose', 'addons')), o.settings);
  const objects = process.env.KEMU_DNS_FORWARD === 'off' ? withoutDnsForward(all) : all;
  const { dns, rest } = dnsFirst(objects);
  const said = (created: AddonObject[]) =>
    created.length && o.log(`  add-ons: ${created.map((c) => `${c.kind.toLowerCase()}/${c.name}`).join(', ')}${o.elapsed()}`);
  said(await applyAddons(o.api, dns));
  const answering = !o.settings.dns || (await waitDnsAnswers(o.answers));
  if (answering)
    o.log(
      o.settings.dns
        ? `  cluster DNS: answering at ${o.settings.dnsIP}${o.elapsed()}`
        : `  cluster DNS: none (--dns off); pods' resolver is ${o.settings.dnsIP}`,
    );
  // The others go in even when the DNS does not answer: a second `kemu up` finds the cluster running and applies nothing.
  const others = await applyAddons(o.api, rest);
  if (!answering) throw new KemuError(`the cluster DNS (${o.settings.dnsIP}) does not answer: see kubectl -n kube-system get pods -l k8s-app=kube-dns`);
  said(others);
}
