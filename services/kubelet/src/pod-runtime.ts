/**
 * What the kubelet knows of one pod it runs, and how that survives a
 * kubelet restart: a state.json per pod (sandbox, address, containers and
 * their instances) next to the containers' own handles. A restarted
 * kubelet reads these back and adopts the containers that still run.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerInfo } from './pod-status.js';
import type { RunningContainer } from './runtime/container.js';
import type { LogPump } from './runtime/logs.js';
import type { ContainerProbes } from './probes.js';

/** One container of a pod and its current instance. */
export interface Instance {
  name: string;
  init: boolean;
  /** The current instance's id (state directory, containerID). */
  id: string;
  info: ContainerInfo;
  env: Record<string, string>;
  logPath: string;
  proc?: RunningContainer;
  pump?: LogPump;
  probes?: ContainerProbes;
  backoffUntil?: number;
  /** Someone attached already (stdinOnce replays the output only for the first). */
  attached?: boolean;
}

export interface PodRuntime {
  key: string;
  uid: string;
  podNs: string;
  ip: string;
  startTime: string;
  dir: string;
  containers: Map<string, Instance>;
  inits: Map<string, Instance>;
  volumes?: Map<string, string>;
  initDone: boolean;
  /** The pod was being stopped (deletion or a kubelet restart in the middle of it). */
  terminating?: boolean;
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
  instances: { name: string; init: boolean; id: string; info: ContainerInfo; env: Record<string, string>; logPath: string }[];
}

export function savePod(rt: PodRuntime): void {
  const s: Saved = {
    key: rt.key,
    uid: rt.uid,
    podNs: rt.podNs,
    ip: rt.ip,
    startTime: rt.startTime,
    initDone: rt.initDone,
    volumes: rt.volumes ? [...rt.volumes] : undefined,
    instances: [...rt.inits.values(), ...rt.containers.values()].map((i) => ({ name: i.name, init: i.init, id: i.id, info: i.info, env: i.env, logPath: i.logPath })),
  };
  const f = join(rt.dir, 'state.json');
  writeFileSync(`${f}.tmp`, JSON.stringify(s));
  renameSync(`${f}.tmp`, f); // never half-written
}

/** Every pod a previous kubelet left in `podsDir`, without its processes (the caller adopts those). */
export function loadPods(podsDir: string): PodRuntime[] {
  const out: PodRuntime[] = [];
  let dirs: string[] = [];
  try {
    dirs = readdirSync(podsDir);
  } catch {
    return out;
  }
  for (const d of dirs) {
    let s: Saved;
    try {
      s = JSON.parse(readFileSync(join(podsDir, d, 'state.json'), 'utf8'));
    } catch {
      continue;
    }
    const rt: PodRuntime = { key: s.key, uid: s.uid, podNs: s.podNs, ip: s.ip, startTime: s.startTime, dir: join(podsDir, d), containers: new Map(), inits: new Map(), initDone: s.initDone, volumes: s.volumes ? new Map(s.volumes) : undefined };
    for (const i of s.instances) (i.init ? rt.inits : rt.containers).set(i.name, { ...i });
    out.push(rt);
  }
  return out;
}

/** Where an instance's log goes: logs/<container>/<restartCount>.log, as /var/log/pods has it. */
export const logPathOf = (dir: string, name: string, restartCount: number) => join(dir, 'logs', name, `${restartCount}.log`);
