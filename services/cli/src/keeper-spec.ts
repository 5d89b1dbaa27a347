/**
 * What the CLI and a service's keeper (bin/keeper.sh) agree on: the keeper's
 * arguments, and the files under the state directory through which the rest of
 * `kemu` sees a service (its pid, its keeper's, its restarts, a stop asked
 * for). Pure.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The keeper, from src/ and dist/ alike. */
export const KEEPER = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'keeper.sh');

/** What a keeper is told. */
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

/** The keeper's command line: `sh keeper.sh SERVICE RESTART PIDFILE RESTARTSFILE STOPPEDFILE FREEZER COMMAND...`. */
export function keeperArgv(spec: KeeperSpec): string[] {
  const f = spec.files;
  return ['sh', KEEPER, spec.service, spec.restart ?? 'no', f.pid, f.restarts, f.stopped, spec.freezer ?? '', ...spec.command];
}
