/**
 * What the kubelet knows of one pod it runs — its sandbox and the sandbox's
 * containers — and how that survives a kubelet restart: a state.json per
 * pod next to the containers' runtime handles. A restarted kubelet reads
 * these back and adopts the containers that still run.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerInfo } from './pod-status.js';
import type { ContainerHandle } from './runtime/container.js';
import type { LogPump } from './runtime/logs.js';
import type { ContainerProbes } from './probes.js';
import type { HostPortMapping } from './network/hostport.js';

/**
 * One container of a pod (an entry of spec.containers or
 * spec.initContainers) as the kubelet runs it. Every start is a new runtime
 * container with a new id, as in the CRI; this record keeps the latest.
 */
export interface Container {
  name: string;
  init: boolean;
  /** The latest start's container ID (its state directory; `kemu://<id>` in the status). */
  id: string;
  info: ContainerInfo;
  env: Record<string, string>;
  logPath: string;
  /** The runtime's handle while it runs. */
  handle?: ContainerHandle;
  pump?: LogPump;
  probes?: ContainerProbes;
  backoffUntil?: number;
  /** Someone attached already (stdinOnce replays the output only for the first). */
  attached?: boolean;
  /** Its declared ports do not listen yet: not ready, as a runtime would not have reported it running (listen-gate.ts). */
  portsPending?: boolean;
}

/** A pod's sandbox (network namespace, address, directory, volumes) and its containers. */
export interface PodSandbox {
  key: string;
  uid: string;
  podNs: string;
  ip: string;
  startTime: string;
  dir: string;
  containers: Map<string, Container>;
  inits: Map<string, Container>;
  volumes?: Map<string, string>;
  initDone: boolean;
  /** The pod was being stopped (deletion or a kubelet restart in the middle of it). */
  terminating?: boolean;
  /** spec.hostNetwork: the pod runs in the node's namespace, with the node's address (no sandbox of its own). */
  hostNetwork?: boolean;
  /** Container ports published on the node (hostPort), as programmed; kept so they go with the pod. */
  hostPorts?: HostPortMapping[];
}

interface Saved {
  key: string;
  uid: string;
  podNs: string;
  ip: string;
  startTime: string;
  initDone: boolean;
  /** Where each volume is on the node, once set up (set up again, a volume would replace what containers have mounted). */
  volumes?: [string, string][];
  hostNetwork?: boolean;
  hostPorts?: HostPortMapping[];
  containers: { name: string; init: boolean; id: string; info: ContainerInfo; env: Record<string, string>; logPath: string }[];
}

export function savePod(sandbox: PodSandbox): void {
  const s: Saved = {
    key: sandbox.key,
    uid: sandbox.uid,
    podNs: sandbox.podNs,
    ip: sandbox.ip,
    startTime: sandbox.startTime,
    initDone: sandbox.initDone,
    volumes: sandbox.volumes ? [...sandbox.volumes] : undefined,
    hostNetwork: sandbox.hostNetwork,
    hostPorts: sandbox.hostPorts,
    containers: [...sandbox.inits.values(), ...sandbox.containers.values()].map((c) => ({
      name: c.name,
      init: c.init,
      id: c.id,
      info: c.info,
      env: c.env,
      logPath: c.logPath,
    })),
  };
  const f = join(sandbox.dir, 'state.json');
  writeFileSync(`${f}.tmp`, JSON.stringify(s));
  renameSync(`${f}.tmp`, f); // never half-written
}

/** Every pod a previous kubelet left in `podsDir`, without its processes (the caller adopts those). */
export function loadPods(podsDir: string): PodSandbox[] {
  const out: PodSandbox[] = [];
  let dirs: string[] = [];
  try {
    dirs = readdirSync(podsDir);
  } catch {
    return out;
  }
  for (const d of dirs) {
    let s: Saved;
    try {
      s = JSON.parse(readFileSync(join(podsDir, d, 'state.json'), 'utf8')) as Saved; // written by savePod above
    } catch {
      continue;
    }
    const sandbox: PodSandbox = {
      key: s.key,
      uid: s.uid,
      podNs: s.podNs,
      ip: s.ip,
      startTime: s.startTime,
      dir: join(podsDir, d),
      containers: new Map(),
      inits: new Map(),
      initDone: s.initDone,
      volumes: s.volumes ? new Map(s.volumes) : undefined,
      hostNetwork: s.hostNetwork,
      hostPorts: s.hostPorts,
    };
    for (const c of s.containers) (c.init ? sandbox.inits : sandbox.containers).set(c.name, { ...c });
    out.push(sandbox);
  }
  return out;
}

/** Where a container's log goes (one file per start): logs/<container>/<restartCount>.log, as /var/log/pods has it. */
export const logPathOf = (dir: string, name: string, restartCount: number) => join(dir, 'logs', name, `${restartCount}.log`);
