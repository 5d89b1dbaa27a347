/** A throw-away cluster for one benchmark: its own project, subnet and state directory, removed afterwards. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const CLI = resolve(import.meta.dirname, '../../services/cli/dist/bundle.mjs');

export interface BenchCluster {
  state: string;
  kemu: (...args: string[]) => void;
}

export interface BenchHome {
  home: string;
  env: NodeJS.ProcessEnv;
  kemu: (...args: string[]) => void;
}

/**
 * A state directory and a `kemu` for `project` on `subnet`; `body` runs, then the cluster is brought down and the
 * directory removed whatever happened (a failure sets the exit code).
 */
export async function withBenchHome(project: string, subnet: string, body: (h: BenchHome) => Promise<void>): Promise<void> {
  const home = mkdtempSync('/tmp/kemu-bench-');
  const env = { KEMU_DNS_FORWARD: 'off', ...process.env, KEMU_HOME: home };
  const kemu = (...a: string[]) =>
    void execFileSync(process.execPath, [CLI, '-p', project, '--subnet', subnet, ...a], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    kemu('down');
    await body({ home, env, kemu });
  } catch (e) {
    console.error(e);
    process.exitCode = 1;
  } finally {
    kemu('down');
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Bring a cluster up, run `body`, and always bring it down. `nodes`: how
 * many kubelets (0 measures the control plane alone: pods created by a
 * benchmark then stay unstarted, as with KWOK-style fake nodes).
 */
export function withCluster(project: string, subnet: string, body: (c: BenchCluster) => Promise<void>, nodes = 3): Promise<void> {
  return withBenchHome(project, subnet, async ({ home, kemu }) => {
    kemu('up', '--nodes', String(nodes));
    await body({ state: join(home, project), kemu });
  });
}
