/**
 * The kubelet's pods: for every pod bound to this node, a sandbox (network
 * namespace, address, resolver files), its containers started from the image
 * catalog, restarts by restartPolicy with back-off, graceful termination
 * (SIGTERM, grace period, SIGKILL, then the pod object goes), and the status
 * the API shows. One pod is synced at a time per key (work queue).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isNotFound, type KubeObject } from '@kemu/api';
import { InformerFactory, keyOf, WorkQueue, type ApiClient, type EventRecorder, type Informer } from '@kemu/client';
import { createSandbox, deleteSandbox, ensureBridge, routeToNode } from './network/sandbox.js';
import { HostLocalIpam } from './network/ipam.js';
import { startContainer, removeContainer, type RunningContainer } from './runtime/container.js';
import { containerArgv, imagesMount, lookupImage, ImageNotFoundError } from './runtime/catalog.js';
import { etcHosts, expand, resolvConf, serviceEnv } from './pod-env.js';
import { podStatus, type ContainerInfo } from './pod-status.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const PODS = { version: 'v1', resource: 'pods' };
const ts = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export interface PodManagerOptions {
  client: ApiClient;
  recorder: EventRecorder;
  log: Logger;
  nodeName: string;
  nodeIP: string;
  /** The node's network namespace name (where cni0 lives). */
  netns: string;
  /** Prefix of pod namespace names, so `kemu down` finds them. */
  podNsPrefix: string;
  podCIDR: string;
  stateDir: string;
  dnsIP?: string;
}

interface Running {
  info: ContainerInfo;
  proc?: RunningContainer;
  id: string;
  backoffUntil?: number;
}

interface PodRuntime {
  uid: string;
  podNs: string;
  ip: string;
  startTime: string;
  containers: Map<string, Running>;
}

export class PodManager {
  private queue = new WorkQueue();
  private pods: Informer;
  private services: Informer;
  private runtimes = new Map<string, PodRuntime>();
  private ipam: HostLocalIpam;
  private bridgeReady = false;

  constructor(private o: PodManagerOptions, informers: InformerFactory) {
    this.pods = informers.for(PODS, { fieldSelector: `spec.nodeName=${o.nodeName}` });
    this.services = informers.for({ version: 'v1', resource: 'services' });
    mkdirSync(o.stateDir, { recursive: true });
    this.ipam = new HostLocalIpam(o.podCIDR, join(o.stateDir, 'ipam.json'));
    const enqueue = (p: KubeObject) => this.queue.add(keyOf(p));
    this.pods.on({ add: enqueue, update: (_a, b) => enqueue(b), delete: enqueue });
    // host-gw: a route to every other node's pods through that node's address.
    const route = (n: KubeObject) => {
      const cidr = n.spec?.podCIDR;
      const ip = (n.status?.addresses ?? []).find((a: Obj) => a.type === 'InternalIP')?.address;
      if (n.metadata.name === o.nodeName || !cidr || !ip) return;
      try {
        routeToNode(o.netns, cidr, ip);
      } catch (e) {
        o.log.warn({ node: n.metadata.name, err: String(e) }, 'route failed');
      }
    };
    informers.for({ version: 'v1', resource: 'nodes' }).on({ add: route, update: (_a, b) => route(b) });
  }

  async run(workers: number, signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    await this.queue.run(workers, (k) => this.sync(k), (key, err) => this.o.log.warn({ pod: key, err: String(err) }, 'pod sync failed'));
  }

  private podNs(uid: string): string {
    return `${this.o.podNsPrefix}${uid.slice(0, 8)}`;
  }

  async sync(key: string): Promise<void> {
    const pod = this.pods.lister.get(key);
    const rt = this.runtimes.get(key);
    if (!pod || (rt && rt.uid !== pod.metadata.uid)) {
      if (rt) await this.teardown(key, rt, 0);
      if (!pod) return;
    }
    if (pod.metadata.deletionTimestamp) return this.terminate(key, pod);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    await this.ensure(key, pod);
  }

  private async ensure(key: string, pod: KubeObject): Promise<void> {
    let rt = this.runtimes.get(key);
    if (!rt) {
      if (!this.bridgeReady) {
        ensureBridge(this.o.netns, this.o.podCIDR, this.ipam.gateway);
        this.bridgeReady = true;
      }
      const uid = pod.metadata.uid!;
      const ip = this.ipam.allocate(uid);
      const podNs = this.podNs(uid);
      await createSandbox(this.o.netns, podNs, ip, this.o.podCIDR, this.ipam.gateway);
      rt = { uid, podNs, ip, startTime: ts(), containers: new Map() };
      this.runtimes.set(key, rt);
    }
    const dir = join(this.o.stateDir, 'pods', rt.uid);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    writeFileSync(join(dir, 'resolv.conf'), resolvConf(pod, { dnsIP: this.o.dnsIP ?? '10.96.0.10', nodeResolvConf: safeRead('/etc/resolv.conf') }));
    writeFileSync(join(dir, 'hosts'), etcHosts(pod, rt.ip));
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const now = Date.now();
    for (const c of (pod.spec?.containers ?? []) as Obj[]) {
      const cur = rt.containers.get(c.name);
      if (cur?.proc) continue; // running
      if (cur && cur.info.state.kind === 'terminated') {
        const failed = cur.info.state.exitCode !== 0;
        if (policy === 'Never' || (policy === 'OnFailure' && !failed)) continue;
      }
      if (cur?.backoffUntil && cur.backoffUntil > now) {
        this.queue.addAfter(key, cur.backoffUntil - now);
        continue;
      }
      this.start(key, pod, rt, c, dir, cur);
    }
    await this.report(key, pod, rt);
  }

  private start(key: string, pod: KubeObject, rt: PodRuntime, c: Obj, dir: string, prev: Running | undefined): void {
    const restartCount = prev ? prev.info.restartCount + (prev.info.state.kind === 'terminated' ? 1 : 0) : 0;
    let image;
    try {
      image = lookupImage(c.image);
    } catch (e) {
      if (!(e instanceof ImageNotFoundError)) throw e;
      const first = !prev || prev.info.state.kind !== 'waiting';
      const attempts = (prev?.info.state.kind === 'waiting' && prev.info.state.reason === 'ImagePullBackOff' ? 2 : 1);
      void this.o.recorder.event(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${e.message}`);
      void this.o.recorder.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
      const state = { kind: 'waiting' as const, reason: first ? 'ErrImagePull' : 'ImagePullBackOff', message: first ? e.message : `Back-off pulling image "${c.image}"` };
      rt.containers.set(c.name, { id: '', info: { name: c.name, image: c.image, imageRef: '', state, restartCount: 0 }, backoffUntil: Date.now() + Math.min(300_000, 10_000 * attempts) });
      this.queue.addAfter(key, first ? 2000 : 10_000);
      return;
    }
    const env: Record<string, string> = serviceEnv(this.services.lister.list(), pod.metadata.namespace!, pod.spec?.enableServiceLinks !== false);
    for (const e of (c.env ?? []) as Obj[]) {
      if (e.value !== undefined) env[e.name] = expand(String(e.value), env);
      else if (e.valueFrom?.fieldRef) env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath, rt.ip);
    }
    const argv = containerArgv(image, c.command?.map((x: string) => expand(x, env)), c.args?.map((x: string) => expand(x, env)));
    const id = `${rt.uid.slice(0, 8)}-${c.name}-${restartCount}`;
    const proc = startContainer({
      id,
      podNs: rt.podNs,
      hostname: pod.spec?.hostname ?? pod.metadata.name!,
      argv,
      env,
      workingDir: c.workingDir,
      mounts: [imagesMount(), { source: join(dir, 'resolv.conf'), target: '/etc/resolv.conf', readOnly: true }, { source: join(dir, 'hosts'), target: '/etc/hosts' }],
      stateDir: join(this.o.stateDir, 'containers'),
      logPath: join(dir, 'logs', `${c.name}.log`),
    });
    const startedAt = ts();
    const entry: Running = { id, proc, info: { name: c.name, image: c.image, imageRef: image.canonical, containerID: `kemu://${id}`, state: { kind: 'running', startedAt }, lastState: prev?.info.state.kind === 'terminated' ? prev.info.state : prev?.info.lastState, restartCount } };
    rt.containers.set(c.name, entry);
    void this.o.recorder.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
    void this.o.recorder.event(pod, 'Normal', 'Created', `Created container ${c.name}`);
    void this.o.recorder.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    void proc.exited.then(({ code, signal }) => {
      const exitCode = code ?? (signal === 'SIGKILL' ? 137 : 143);
      entry.proc = undefined;
      entry.info.state = { kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: ts() };
      // CrashLoopBackOff: 10 s, doubling, at most 5 min.
      entry.backoffUntil = Date.now() + Math.min(300_000, 10_000 * 2 ** Math.min(restartCount, 5));
      removeContainer(join(this.o.stateDir, 'containers'), id);
      this.queue.add(key);
    });
  }

  private async report(key: string, pod: KubeObject, rt: PodRuntime): Promise<void> {
    const infos = ((pod.spec?.containers ?? []) as Obj[]).map((c) => {
      const r = rt.containers.get(c.name);
      if (!r) return { name: c.name, image: c.image, imageRef: '', state: { kind: 'waiting' as const, reason: 'ContainerCreating' }, restartCount: 0 };
      if (!r.proc && r.info.state.kind === 'terminated' && r.backoffUntil && (pod.spec?.restartPolicy ?? 'Always') === 'Always') {
        return { ...r.info, lastState: r.info.state, state: { kind: 'waiting' as const, reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.name} in pod ${pod.metadata.name}` }, restartCount: r.info.restartCount + 1 };
      }
      return r.info;
    });
    const status = podStatus(pod, infos, { podIP: rt.ip, hostIP: this.o.nodeIP, startTime: pod.status?.startTime ?? rt.startTime }, ts());
    const strip = (s: Obj) => JSON.stringify({ ...s, conditions: (s.conditions ?? []).map((c: Obj) => ({ ...c, lastTransitionTime: undefined })) });
    if (strip(status) === strip(pod.status ?? {})) return;
    await this.o.client.update({ ...PODS, namespace: pod.metadata.namespace }, { ...structuredClone(pod), status }, 'status').catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }

  private async terminate(key: string, pod: KubeObject): Promise<void> {
    const rt = this.runtimes.get(key);
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (rt) await this.teardown(key, rt, grace);
    await this.o.client.delete({ ...PODS, namespace: pod.metadata.namespace }, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } }).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }

  /** SIGTERM, wait up to the grace period, SIGKILL; then the sandbox and address go. */
  private async teardown(key: string, rt: PodRuntime, graceSeconds: number): Promise<void> {
    const procs = [...rt.containers.values()].map((r) => r.proc).filter((p): p is RunningContainer => !!p);
    for (const p of procs) p.signal('SIGTERM');
    const all = Promise.all(procs.map((p) => p.exited));
    const timer = new Promise((r) => setTimeout(r, graceSeconds * 1000));
    await Promise.race([all, timer]);
    for (const p of procs) p.signal('SIGKILL');
    await all;
    deleteSandbox(rt.podNs);
    this.ipam.release(rt.uid);
    rmSync(join(this.o.stateDir, 'pods', rt.uid), { recursive: true, force: true });
    this.runtimes.delete(key);
  }

  /** Stop every container (the kubelet is going away); pods keep running in Kubernetes only on restart-safe runtimes. */
  async stopAll(): Promise<void> {
    for (const [key, rt] of this.runtimes) await this.teardown(key, rt, 0);
  }
}

function fieldRef(pod: KubeObject, path: string, podIP: string): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name!;
    case 'metadata.namespace':
      return pod.metadata.namespace!;
    case 'metadata.uid':
      return pod.metadata.uid!;
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return podIP;
    default:
      return '';
  }
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}
