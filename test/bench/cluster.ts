/** A throw-away cluster for one benchmark: its own project, subnet and state directory, removed afterwards. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const CLI = resolve(import.meta.dirname, '../../services/cli/dist/main.js');

export interface BenchCluster {
  state: string;
  kemu: (...args: string[]) => void;
}

/**
 * Bring a cluster up, run `body`, and always bring it down. `nodes`: how
 * many kubelets (0 measures the control plane alone: pods created by a
 * benchmark then stay unstarted, as with KWOK-style fake nodes).
 */
export async function withCluster(project: string, subnet: string, body: (c: BenchCluster) => Promise<void>, nodes = 3): Promise<void> {
  const home = mkdtempSync('/tmp/kemu-bench-');
  const env = { KEMU_DNS_FORWARD: 'off', ...process.env, KEMU_HOME: home };
  const kemu = (...a: string[]) =>
    void execFileSync(process.execPath, [CLI, '-p', project, '--subnet', subnet, ...a], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    kemu('down');
    kemu('up', '--nodes', String(nodes));
    await body({ state: join(home, project), kemu });
  } catch (e) {
    console.error(e);
    process.exitCode = 1;
  } finally {
    kemu('down');
    rmSync(home, { recursive: true, force: true });
  }
}
