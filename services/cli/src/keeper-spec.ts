/**
 * What the CLI and a service's keeper (keeper.ts) agree on: the keeper's
 * argument, and the files under the state directory through which the rest of
 * `kemu` sees a service (its pid, its keeper's, its restarts, a stop asked
 * for). Pure.
 */
import { join } from 'node:path';

/** The keeper's one argument, as JSON. */
export interface KeeperSpec {
  /** The service's name in the compose file (node-1, node-1/kube-proxy). */
  service: string;
  /** Its compose `restart:` value (absent: "no"). */
  restart?: string;
  /** The argv to run (nsenter into the service's namespace, then the service's command). */
  command: string[];
  files: KeeperFiles;
  /** A cgroup v1 freezer directory to run in (with every descendant), so the service can be frozen whole. */
  freezer?: string;
}

export interface KeeperFiles {
  /** The running process's pid (the file `kemu status`, tests and chaos read). */
  pid: string;
  /** The keeper's pid. */
  keeper: string;
  /** How many times the keeper has started the process again. */
  restarts: string;
  /** Present: a stop was asked for (kemu stop, a chaos kill); the keeper restarts nothing and ends with the process. */
  stopped: string;
}

/** pids/<service>.pid and its neighbours; node-1/kube-proxy's go in a directory named after its node. */
export function keeperFiles(state: string, service: string): KeeperFiles {
  const base = join(state, 'pids', service);
  return { pid: `${base}.pid`, keeper: `${base}.keeper`, restarts: `${base}.restarts`, stopped: `${base}.stopped` };
}
