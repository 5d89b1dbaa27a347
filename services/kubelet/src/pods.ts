/**
 * The kubelet's pods: for every pod bound to this node, a sandbox (network
 * namespace, address, resolver files), its volumes, its init containers one
 * after another, then its containers started from the image catalog, with
 * probes, restarts by restartPolicy with back-off, graceful termination
 * (preStop, SIGTERM, grace period, SIGKILL, then the pod object goes), and
 * the status the API shows. One pod is synced at a time per key (work
 * queue). Pods outlive the kubelet: a new kubelet adopts what is running.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigMap, Container as ContainerSpec, Node, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { TokenRequest } from 'kubernetes-types/authentication/v1.js';
import { formatTime, isNotFound, quantityValue, type KubeObject } from '@kemu/api';
import { InformerFactory, keyOf, WorkQueue, type ApiClient, type EventRecorder, type Informer } from '@kemu/client';
import { createSandbox, deleteSandbox, ensureBridge } from './network/sandbox.js';
import { publishedPorts, syncHostPorts, type PodPorts } from './network/hostport.js';
import { NodeRoutes, routeProgrammer, type NetworkBackend } from './network/node-routes.js';
import { HostLocalIpam } from './network/ipam.js';
import { ensureVtep, peerMac, vtepAnnotations, VXLAN_MTU } from './network/vxlan.js';
import { adoptContainer, removeContainer, startContainer } from './runtime/container.js';
import { containerArgv, imagesMount, lookupImage, ImageNotFoundError, IMAGES_DIR } from './runtime/catalog.js';
import { LogPump } from './runtime/logs.js';
import { etcHosts, expand, podHostname, resolvConf, serviceEnv } from './pod-env.js';
import { podStatus, type KubeletPodStatus } from './pod-status.js';
import { containerView, execInContainer, runHook, stopContainer } from './container-lifecycle.js';
import { containerEnv, ContainerConfigError, runtimeEnv } from './container-env.js';
import { containerMounts, setUpVolumes, VolumeError, type VolumeSources } from './volumes.js';
import { ContainerProbes, wantsReadinessRun, type ProbeKind } from './probes.js';
import { loadPods, logPathOf, savePod, type Container, type PodSandbox } from './pod-sandbox.js';
import { isMirrorPod } from './static-pods/mirror.js';
import { drainEndpoints } from './endpoint-drain.js';
import { gatedPorts, waitListening } from './listen-gate.js';

/**
 * The client hands out Kubernetes JSON as `KubeObject`; the kubelet reads it as the kubernetes-types it is. These
 * two are the only casts, where objects cross from the informers and the client into the kubelet and back.
 */
const fromApi = <T extends Pod | Node | Service | Secret | ConfigMap | TokenRequest | EndpointSlice>(o: KubeObject): T => o as unknown as T;
const toApi = (o: Pod | (Omit<Pod, 'status'> & { status: KubeletPodStatus })): KubeObject => o as unknown as KubeObject;
const PODS = { version: 'v1', resource: 'pods' };
const ts = () => formatTime();
const backoff = (restarts: number) => Math.min(300_000, 10_000 * 2 ** Math.min(restarts, 5)); // 10 s doubling to 5 min

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
  /** The cluster domain of pods' search path and /etc/hosts. Default cluster.local. */
  clusterDomain?: string;
  /** The pod network: pods' traffic to anything else (and the nodes) is masqueraded. Default 10.244.0.0/16. */
  clusterCIDR?: string;
  /** The node's allocatable, for resourceFieldRef limits a container does not set. */
  node?: { cpu: number; memory: number };
  /** How pods on different nodes reach each other: routes via node addresses, or a VXLAN overlay (flannel's). */
  backend?: NetworkBackend;
  /** kemu's endpoint drain before a Service endpoint is stopped (see endpoint-drain.ts): at most this long; 0 is off. Default 5000. */
  endpointDrainMs?: number;
}

export class PodManager {
  private queue = new WorkQueue();
  private pods: Informer;
  private services: Informer;
  private slices: Informer;
  private sandboxes = new Map<string, PodSandbox>();
  private ipam: HostLocalIpam;
  private bridgeReady = false;
  private sources: VolumeSources;
  private routes: NodeRoutes;
  /** vxlan: this node's VTEP MAC, once set up. */
  private vtepMac?: string;

  constructor(
    private o: PodManagerOptions,
    informers: InformerFactory,
  ) {
    this.pods = informers.for(PODS, { fieldSelector: `spec.nodeName=${o.nodeName}` });
    this.services = informers.for({ version: 'v1', resource: 'services' });
    this.slices = informers.for({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' });
    mkdirSync(join(o.stateDir, 'pods'), { recursive: true });
    this.ipam = new HostLocalIpam(o.podCIDR, join(o.stateDir, 'ipam.json'));
    const enqueue = (p: KubeObject) => this.queue.add(keyOf(p));
    this.pods.on({ add: enqueue, update: (_a, b) => enqueue(b), delete: enqueue });
    // Routes to the other nodes' pods: the Node informer only enqueues, a worker of its own programs the changes.
    const nodes = informers.for({ version: 'v1', resource: 'nodes' });
    const backend = o.backend ?? 'host-gw';
    const node = (name: string) => {
      const n = nodes.lister.get(name);
      return n && fromApi<Node>(n);
    };
    // Deleted and registered again, this Node has lost its VTEP annotations: without them the others drop their routes.
    const ownNode = async (n: Node | undefined) => {
      if (n && this.vtepMac && peerMac(n.metadata?.annotations) !== this.vtepMac) await this.publishVtep(this.vtepMac);
    };
    this.routes = new NodeRoutes({ self: o.nodeName, backend, node, ownNode, programmer: routeProgrammer(o.netns, backend), log: o.log });
    nodes.on(this.routes.handlers);
    const get =
      <T extends Secret | ConfigMap>(resource: string) =>
      (ns: string, name: string): Promise<T | undefined> =>
        o.client.get({ version: 'v1', resource, namespace: ns }, name).then(
          (obj) => fromApi<T>(obj),
          (e: unknown) => {
            if (isNotFound(e)) return undefined;
            throw e;
          },
        );
    this.sources = {
      secret: get<Secret>('secrets'),
      configMap: get<ConfigMap>('configmaps'),
      token: async (ns, sa, req) => {
        const tr = await o.client.create(
          { version: 'v1', resource: 'serviceaccounts', namespace: ns },
          {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            metadata: { name: sa, namespace: ns },
            spec: {
              audiences: req.audience ? [req.audience] : [],
              expirationSeconds: req.expirationSeconds ?? 3607,
              boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: req.pod.metadata?.name, uid: req.pod.metadata?.uid },
            },
          },
          { subresource: 'token', name: sa },
        );
        return fromApi<TokenRequest>(tr).status?.token ?? '';
      },
    };
  }

  /** Pick up the pods a previous kubelet left running (before the informers start). */
  recover(): void {
    for (const sandbox of loadPods(join(this.o.stateDir, 'pods'))) {
      // Its network namespace gone (the node itself was stopped and its namespaces removed): nothing of the sandbox
      // is left to adopt. Forgotten here, the pod gets a new sandbox and its containers start again, as the
      // kubelet does for a sandbox that died ("Pod sandbox changed, it will be killed and re-created").
      if (!existsSync(`/run/netns/${sandbox.podNs}`)) {
        this.o.log.info({ pod: sandbox.key, netns: sandbox.podNs }, 'pod sandbox gone; it will be re-created');
        continue;
      }
      for (const ctr of [...sandbox.inits.values(), ...sandbox.containers.values()]) {
        if (ctr.info.state.kind !== 'running') continue;
        const handle = adoptContainer(join(this.o.stateDir, 'containers'), ctr.id);
        if (!handle) {
          ctr.info.state = {
            kind: 'terminated',
            exitCode: 137,
            reason: 'Error',
            startedAt: (ctr.info.state as { startedAt: string }).startedAt,
            finishedAt: ts(),
          };
          continue;
        }
        ctr.handle = handle;
        ctr.pump = new LogPump(ctr.logPath, handle.fifos);
        this.watchExit(sandbox, ctr);
      }
      this.sandboxes.set(sandbox.key, sandbox);
      if (!sandbox.hostNetwork) this.bridgeReady = true; // the bridge is there: these pods use it
      this.o.log.info({ pod: sandbox.key }, 'pod adopted');
    }
  }

  /** The VXLAN backend: this node's VTEP, published in its annotations for the others. */
  async setUpOverlay(): Promise<void> {
    if (this.o.backend !== 'vxlan') return;
    this.vtepMac = ensureVtep(this.o.netns, this.o.nodeIP, this.o.podCIDR);
    await this.publishVtep(this.vtepMac);
  }

  private async publishVtep(mac: string): Promise<void> {
    await this.o.client.patch({ version: 'v1', resource: 'nodes' }, this.o.nodeName, { metadata: { annotations: vtepAnnotations(mac, this.o.nodeIP) } });
  }

  async run(workers: number, signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    for (const key of this.sandboxes.keys()) this.queue.add(key); // adopted pods that may have gone meanwhile
    await Promise.all([
      this.queue.run(
        workers,
        (k) => this.sync(k),
        (key, err) => this.o.log.warn({ pod: key, err }, 'pod sync failed'),
        'pods',
      ),
      this.routes.run(signal),
    ]);
  }

  /** The pod and container a stream (exec, attach, logs, port-forward) is about. */
  find(ns: string, name: string): { pod: Pod; sandbox: PodSandbox } | undefined {
    const key = `${ns}/${name}`;
    const pod = this.pod(key);
    const sandbox = this.sandboxes.get(key);
    return pod && sandbox && sandbox.uid === pod.metadata?.uid ? { pod, sandbox } : undefined;
  }

  /** The pods bound to this node, as the kubelet API's /pods lists them (read-only, from the informer's cache). */
  list(): Pod[] {
    return this.pods.lister.list().map((o) => fromApi<Pod>(o));
  }

  /** The pod from the informer's cache (read-only). */
  private pod(key: string): Pod | undefined {
    const obj = this.pods.lister.get(key);
    return obj && fromApi<Pod>(obj);
  }

  private event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.o.recorder.event(toApi(pod), type, reason, message);
  }

  /** Every running pod's hostPorts into the node's nat table (portmap's chains); a failure is logged, the pods run on. */
  private programHostPorts(): void {
    const pods: PodPorts[] = [...this.sandboxes.values()].map((s) => ({ id: s.uid, name: s.key, podIP: s.ip, ports: s.hostPorts ?? [] }));
    try {
      syncHostPorts(this.o.netns, pods);
    } catch (e) {
      this.o.log.error({ err: e }, 'hostPort rules not programmed');
    }
  }

  private podNs(uid: string): string {
    return `${this.o.podNsPrefix}${uid.slice(0, 8)}`;
  }

  async sync(key: string): Promise<void> {
    const pod = this.pod(key);
    // A mirror pod is the API's view of a static pod (static-pods/): nothing for this loop to run.
    if (pod && isMirrorPod(pod)) return;
    const sandbox = this.sandboxes.get(key);
    if (!pod || (sandbox && sandbox.uid !== pod.metadata?.uid)) {
      if (sandbox) await this.teardown(sandbox, undefined, 0);
      if (!pod) return;
    }
    if (pod.metadata?.deletionTimestamp) return this.terminate(key, pod);
    const phase = pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && !this.sandboxes.has(key)) return;
    await this.ensure(key, pod);
  }

  private async ensureSandbox(key: string, pod: Pod): Promise<PodSandbox> {
    let sandbox = this.sandboxes.get(key);
    if (sandbox) return sandbox;
    if (!this.bridgeReady) {
      // The nodes' own /24 (kemu puts node i at a.b.1.i) is reached without NAT.
      ensureBridge(this.o.netns, this.o.podCIDR, this.ipam.gateway, {
        nodeNet: `${this.o.nodeIP.split('.').slice(0, 3).join('.')}.0/24`,
        clusterCIDR: this.o.clusterCIDR,
      });
      this.bridgeReady = true;
    }
    const uid = pod.metadata?.uid ?? '';
    const hostNetwork = pod.spec?.hostNetwork === true;
    // hostNetwork: the node's own namespace and address, as a pod sandbox with the host's network is.
    const ip = hostNetwork ? this.o.nodeIP : this.ipam.allocate(uid);
    const podNs = hostNetwork ? this.o.netns : this.podNs(uid);
    if (!hostNetwork) await createSandbox(this.o.netns, podNs, ip, this.o.podCIDR, this.ipam.gateway, this.o.backend === 'vxlan' ? VXLAN_MTU : undefined);
    const dir = join(this.o.stateDir, 'pods', uid);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const hostPorts = hostNetwork ? [] : publishedPorts(pod);
    sandbox = {
      key,
      uid,
      podNs,
      ip,
      startTime: ts(),
      dir,
      containers: new Map(),
      inits: new Map(),
      initDone: !(pod.spec?.initContainers ?? []).length,
      ...(hostNetwork ? { hostNetwork } : {}),
      ...(hostPorts.length ? { hostPorts } : {}),
    };
    this.sandboxes.set(key, sandbox);
    savePod(sandbox);
    if (hostPorts.length) this.programHostPorts();
    return sandbox;
  }

  private async ensure(key: string, pod: Pod): Promise<void> {
    const sandbox = await this.ensureSandbox(key, pod);
    if (!sandbox.volumes) {
      try {
        sandbox.volumes = await setUpVolumes(pod, sandbox.dir, this.sources, sandbox.ip);
      } catch (e) {
        if (!(e instanceof VolumeError)) throw e;
        this.event(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${e.message}`);
        this.queue.addAfter(key, 2000);
        return this.report(pod, sandbox);
      }
      writeFileSync(
        join(sandbox.dir, 'resolv.conf'),
        resolvConf(pod, {
          dnsIP: this.o.dnsIP ?? '10.96.0.10',
          domain: this.o.clusterDomain,
          nodeResolvConf: safeRead('/etc/resolv.conf'),
        }),
      );
      writeFileSync(join(sandbox.dir, 'hosts'), etcHosts(pod, sandbox.ip, this.o.nodeName, this.o.clusterDomain));
      writeFileSync(join(sandbox.dir, 'hostname'), `${podHostname(pod, this.o.nodeName)}\n`);
      savePod(sandbox);
    }
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const now = Date.now();
    const due = (cur: Container | undefined) => {
      if (cur?.backoffUntil && cur.backoffUntil > now) {
        this.queue.addAfter(key, cur.backoffUntil - now);
        return false;
      }
      return true;
    };
    if (!sandbox.initDone) {
      for (const c of pod.spec?.initContainers ?? []) {
        const cur = sandbox.inits.get(c.name);
        if (cur?.handle) return this.report(pod, sandbox); // running: wait for it
        if (cur?.info.state.kind === 'terminated' && cur.info.state.exitCode === 0) continue;
        if (cur?.info.state.kind === 'terminated' && policy === 'Never') return this.report(pod, sandbox); // the pod failed
        if (due(cur)) await this.start(pod, sandbox, c, true);
        return this.report(pod, sandbox);
      }
      sandbox.initDone = true;
      savePod(sandbox);
    }
    for (const c of pod.spec?.containers ?? []) {
      const cur = sandbox.containers.get(c.name);
      if (cur?.handle) continue; // running
      if (cur && cur.info.state.kind === 'terminated') {
        const failed = cur.info.state.exitCode !== 0;
        if (policy === 'Never' || (policy === 'OnFailure' && !failed)) continue;
      }
      if (due(cur)) await this.start(pod, sandbox, c, false);
    }
    await this.report(pod, sandbox);
  }

  private waiting(sandbox: PodSandbox, c: ContainerSpec, init: boolean, reason: string, message: string, prev: Container | undefined, retryMs: number): void {
    const restartCount = prev?.info.restartCount ?? 0;
    const ctr: Container = {
      name: c.name,
      init,
      id: prev?.id ?? '',
      env: {},
      logPath: prev?.logPath ?? '',
      info: { name: c.name, image: c.image ?? '', imageRef: '', state: { kind: 'waiting', reason, message }, lastState: prev?.info.lastState, restartCount },
      backoffUntil: Date.now() + retryMs,
    };
    (init ? sandbox.inits : sandbox.containers).set(c.name, ctr);
    this.queue.addAfter(sandbox.key, retryMs);
  }

  private async start(pod: Pod, sandbox: PodSandbox, c: ContainerSpec, init: boolean): Promise<void> {
    const map = init ? sandbox.inits : sandbox.containers;
    const prev = map.get(c.name);
    const ran = prev && (prev.info.state.kind === 'terminated' || prev.info.lastState);
    const restartCount = prev ? prev.info.restartCount + (prev.info.state.kind === 'terminated' ? 1 : 0) : 0;
    let image;
    try {
      image = lookupImage(c.image ?? '');
    } catch (e) {
      if (!(e instanceof ImageNotFoundError)) throw e;
      const again = prev?.info.state.kind === 'waiting' && /ImagePull/.test(prev.info.state.reason);
      this.event(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${e.message}`);
      this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
      if (again) this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`);
      this.waiting(
        sandbox,
        c,
        init,
        again ? 'ImagePullBackOff' : 'ErrImagePull',
        again ? `Back-off pulling image "${c.image}"` : e.message,
        prev,
        again ? 10_000 : 2000,
      );
      return;
    }
    let env: Record<string, string>;
    try {
      const base = serviceEnv(
        this.services.lister.list().map((s) => fromApi<Service>(s)),
        pod.metadata?.namespace ?? '',
        pod.spec?.enableServiceLinks !== false,
      );
      env = await containerEnv(pod, c, base, { sources: this.sources, podIP: sandbox.ip, node: this.o.node });
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      this.event(pod, 'Warning', 'Failed', `Error: ${e.message}`);
      this.waiting(sandbox, c, init, 'CreateContainerConfigError', e.message, prev, 5000);
      return;
    }
    const argv = containerArgv(
      image,
      c.command?.map((x) => expand(x, env)),
      c.args?.map((x) => expand(x, env)),
    );
    const hostname = podHostname(pod, this.o.nodeName);
    env = runtimeEnv(hostname, env, image.env); // after expansion: $(HOSTNAME) is not the kubelet's to expand
    const id = `${sandbox.uid.slice(0, 8)}-${c.name}-${restartCount}`;
    const logPath = logPathOf(sandbox.dir, c.name, restartCount);
    mkdirSync(join(sandbox.dir, 'logs', c.name), { recursive: true });
    rmSync(logPathOf(sandbox.dir, c.name, restartCount - 2), { force: true }); // keep this one and the previous
    const mounts = [
      imagesMount(),
      { source: join(sandbox.dir, 'resolv.conf'), target: '/etc/resolv.conf', readOnly: true },
      { source: join(sandbox.dir, 'hosts'), target: '/etc/hosts' },
      { source: join(sandbox.dir, 'hostname'), target: '/etc/hostname' },
    ];
    for (const f of image.files ?? []) mounts.push({ source: join(IMAGES_DIR, f.source), target: f.target, readOnly: true });
    for (const m of containerMounts(c, sandbox.volumes ?? new Map<string, string>())) {
      // A subPath that does not exist yet is made (a directory), as Kubernetes does; one naming a file is used as it is.
      if (!existsSync(m.source)) mkdirSync(m.source, { recursive: true });
      mounts.push(m);
    }
    const limit = c.resources?.limits?.memory;
    // Bytes, rounded up as Kubernetes' Quantity.Value() does.
    const bytes = limit ? quantityValue(limit) : undefined;
    const memory = bytes === undefined ? undefined : Number(bytes);
    const handle = await startContainer(
      {
        id,
        podNs: sandbox.podNs,
        hostname,
        argv,
        env,
        workingDir: c.workingDir ?? image.workingDir,
        layers: image.layers?.map((l) => join(IMAGES_DIR, l)),
        users: image.users,
        stopSignal: image.stopSignal,
        mounts,
        stateDir: join(this.o.stateDir, 'containers'),
        stdin: !!c.stdin,
        tty: !!c.tty,
        memoryLimit: memory,
      },
      `${this.o.podNsPrefix}${id}`,
    );
    const ctr: Container = {
      name: c.name,
      init,
      id,
      env,
      logPath,
      handle,
      pump: new LogPump(logPath, handle.fifos),
      info: {
        name: c.name,
        image: c.image ?? '',
        imageRef: image.canonical,
        containerID: `kemu://${id}`,
        state: { kind: 'running', startedAt: ts() },
        lastState: ran ? (prev.info.state.kind === 'terminated' ? prev.info.state : prev.info.lastState) : undefined,
        restartCount,
      },
    };
    map.set(c.name, ctr);
    savePod(sandbox);
    this.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
    this.event(pod, 'Normal', 'Created', `Created container ${c.name}`);
    this.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    this.watchExit(sandbox, ctr);
    if (!init) this.gateReady(sandbox, ctr, gatedPorts(c));
    if (!init && (c.startupProbe || c.livenessProbe || c.readinessProbe)) this.probe(pod, sandbox, c, ctr);
    const postStart = c.lifecycle?.postStart;
    if (!init && postStart) void runHook(ctr, c, postStart, 30_000, sandbox.ip);
  }

  /** Without a readiness probe, a container with TCP containerPorts is ready once they listen (listen-gate.ts). */
  private gateReady(sandbox: PodSandbox, ctr: Container, ports: number[]): void {
    const handle = ctr.handle;
    if (!ports.length || !handle) return;
    ctr.portsPending = true;
    const since = Date.now();
    void waitListening({ pid: () => handle.waitProgramPid(1000), ports, timeoutMs: 5000, stopped: () => ctr.handle !== handle }).then((listening) => {
      const at = { pod: sandbox.key, container: ctr.name, ports, ms: Date.now() - since };
      if (listening) this.o.log.debug(at, 'container ports listening');
      else if (ctr.handle === handle) this.o.log.info(at, 'container ports not listening yet; ready without them, as Kubernetes would be');
      ctr.portsPending = false;
      if (ctr.handle === handle) this.queue.add(sandbox.key);
    });
  }

  private probe(pod: Pod, sandbox: PodSandbox, c: ContainerSpec, ctr: Container): void {
    const handle = ctr.handle;
    const listening = (port: number) =>
      handle
        ? waitListening({ pid: () => handle.waitProgramPid(1000), ports: [port], timeoutMs: 5000, stopped: () => ctr.handle !== handle })
        : Promise.resolve(false);
    ctr.probes = new ContainerProbes(
      c,
      { podIP: sandbox.ip, ports: c.ports ?? [], exec: (argv, t) => execInContainer(ctr, argv, t), listening },
      {
        changed: () => this.queue.add(sandbox.key),
        failed: (kind, message) => this.event(pod, 'Warning', 'Unhealthy', `${kind[0].toUpperCase()}${kind.slice(1)} probe failed: ${message}`),
        kill: (kind: ProbeKind) => {
          this.event(pod, 'Normal', 'Killing', `Container ${c.name} failed ${kind} probe, will be restarted`);
          void stopContainer(ctr, c, pod.spec?.terminationGracePeriodSeconds ?? 30, sandbox.ip);
        },
      },
    );
  }

  /** When a container ends: its exit code and reason, back-off, log pump closed, status reported. */
  private watchExit(sandbox: PodSandbox, ctr: Container): void {
    const handle = ctr.handle!;
    void handle.exited.then(async ({ code, oomKilled }) => {
      ctr.probes?.stop();
      await ctr.pump?.close();
      handle.closeStdin();
      ctr.handle = ctr.pump = ctr.probes = undefined;
      const startedAt = ctr.info.state.kind === 'running' ? ctr.info.state.startedAt : ts();
      ctr.info.state = {
        kind: 'terminated',
        exitCode: code,
        reason: oomKilled ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error',
        startedAt,
        finishedAt: ts(),
      };
      // No back-off for an init container that succeeded: it is done, not restarting.
      ctr.backoffUntil = ctr.init && code === 0 ? undefined : Date.now() + backoff(ctr.info.restartCount);
      removeContainer(join(this.o.stateDir, 'containers'), handle.id);
      if (this.sandboxes.get(sandbox.key) === sandbox) savePod(sandbox);
      this.queue.add(sandbox.key);
    });
  }

  private async report(pod: Pod, sandbox: PodSandbox): Promise<void> {
    // As the prober manager's UpdatePodStatus: a running container not yet ready has its readiness probe run now.
    for (const c of pod.spec?.containers ?? []) {
      const ctr = sandbox.containers.get(c.name);
      if (ctr?.probes && wantsReadinessRun(c, ctr.handle !== undefined, ctr.probes)) ctr.probes.runReadinessNow();
    }
    const view = (c: ContainerSpec, map: Map<string, Container>) =>
      containerView(pod, c, map.get(c.name), { initDone: sandbox.initDone, isInit: map === sandbox.inits, backoffMs: (n) => backoff(n) });
    const inits = (pod.spec?.initContainers ?? []).map((c) => view(c, sandbox.inits));
    const infos = (pod.spec?.containers ?? []).map((c) => view(c, sandbox.containers));
    const status = podStatus(pod, infos, { podIP: sandbox.ip, hostIP: this.o.nodeIP, startTime: pod.status?.startTime ?? sandbox.startTime }, ts(), {
      inits,
      initDone: sandbox.initDone,
    });
    const strip = (s: KubeletPodStatus) => JSON.stringify({ ...s, conditions: (s.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: undefined })) });
    if (strip(status) === strip(pod.status ?? {})) return;
    await this.o.client.update({ ...PODS, namespace: pod.metadata?.namespace }, toApi({ ...structuredClone(pod), status }), 'status').catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }

  private async terminate(key: string, pod: Pod): Promise<void> {
    const sandbox = this.sandboxes.get(key);
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (sandbox && !sandbox.terminating) {
      await this.drain(pod, grace);
      for (const ctr of sandbox.containers.values()) if (ctr.handle) this.event(pod, 'Normal', 'Killing', `Stopping container ${ctr.name}`);
      await this.teardown(sandbox, pod, grace);
    } else if (sandbox) return; // already stopping
    await this.o.client
      .delete({ ...PODS, namespace: pod.metadata?.namespace }, pod.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } })
      .catch((e) => {
        if (!isNotFound(e)) throw e;
      });
  }

  /** kemu's endpoint drain: a pod still a ready Service endpoint is stopped once kube-proxy has taken it out of its rules. */
  private async drain(pod: Pod, graceSeconds: number): Promise<void> {
    const waited = await drainEndpoints(
      pod,
      graceSeconds,
      {
        timeoutMs: this.o.endpointDrainMs ?? 5000,
        // kube-proxy's time to program a change, on a busy machine: p99 1.6 s at 1 change/s, 2.5 s at 10 (README).
        // A change that comes while a sync runs, the burst spent, waits for that sync and a --min-sync-period
        // before its own. With 1.5 s a loaded CI run saw a kube-proxy send connections to a stopped nginx.
        proxyMs: 3000,
        services: () => this.services.lister.list().map((s) => fromApi<Service>(s)),
        slices: (ns) => this.slices.lister.list(ns).map((s) => fromApi<EndpointSlice>(s)),
      },
      (maxMs) =>
        this.event(
          pod,
          'Normal',
          'EndpointDrain',
          `Waiting up to ${maxMs / 1000}s for kube-proxy to stop sending it connections before stopping its containers (kemu)`,
        ),
    );
    if (waited) this.o.log.info({ pod: keyOf(toApi(pod)), ms: waited }, 'endpoints drained');
  }

  /** Every container stopped (preStop, SIGTERM, grace, SIGKILL); then the sandbox, address and files go. */
  private async teardown(sandbox: PodSandbox, pod: Pod | undefined, graceSeconds: number): Promise<void> {
    sandbox.terminating = true;
    const specOf = (name: string) => pod?.spec?.containers.find((c) => c.name === name);
    const all = [...sandbox.inits.values(), ...sandbox.containers.values()];
    for (const i of all) i.probes?.stop();
    await Promise.all(all.map((i) => stopContainer(i, specOf(i.name), graceSeconds, sandbox.ip)));
    if (!sandbox.hostNetwork) {
      deleteSandbox(sandbox.podNs);
      this.ipam.release(sandbox.uid);
    }
    rmSync(sandbox.dir, { recursive: true, force: true });
    this.sandboxes.delete(sandbox.key);
    if (sandbox.hostPorts?.length) this.programHostPorts();
  }

  /** The kubelet is going away: containers keep running (a new kubelet adopts them); stop reading their output. */
  async detach(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const sandbox of this.sandboxes.values()) {
      for (const i of [...sandbox.inits.values(), ...sandbox.containers.values()]) {
        i.probes?.stop();
        if (i.pump) closing.push(i.pump.close());
      }
    }
    // The pumps write out the lines they still hold; the process may exit right after this resolves.
    await Promise.all(closing);
  }
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}
