/**
 * One real cluster for the end-to-end suites: `kemu up` as a separate
 * project (own namespaces, subnet 172.29, own state directory), and `kemu
 * down` afterwards whatever happened, so nothing is left on the machine.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

export const CLI = resolve(import.meta.dirname, '../../services/cli/dist/bundle.mjs');
// KEMU_E2E_PROJECT / KEMU_E2E_SUBNET let two checkouts run their suites at once (each its own cluster).
export const PROJECT = process.env.KEMU_E2E_PROJECT ?? 'kemu-e2e';
export const SUBNET = process.env.KEMU_E2E_SUBNET ?? '172.29';

export interface KemuContext {
  home: string;
  project: string;
  subnet: string;
  kubeconfig: string;
  state: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    kemu: KemuContext;
  }
}

export default function setup(project: TestProject): () => void {
  const home = mkdtempSync('/tmp/kemu-e2e-');
  // The cluster DNS forwards nothing: the machine's resolver is no address of the suite's (names outside the cluster get SERVFAIL at once).
  const env = { KEMU_DNS_FORWARD: 'off', ...process.env, KEMU_HOME: home };
  const kemu = (...args: string[]) => execFileSync(process.execPath, [CLI, '-p', PROJECT, '--subnet', SUBNET, ...args], { env, stdio: 'inherit' });
  const teardown = () => {
    try {
      // KEMU_E2E_LOGS=<dir> keeps every component's log for a look after the run.
      if (process.env.KEMU_E2E_LOGS) cpSync(join(home, PROJECT, 'logs'), process.env.KEMU_E2E_LOGS, { recursive: true });
      kemu('down');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  };
  try {
    kemu('up');
  } catch (e) {
    teardown();
    throw e;
  }
  const state = join(home, PROJECT);
  project.provide('kemu', { home, project: PROJECT, subnet: SUBNET, kubeconfig: join(state, 'kubeconfig'), state });
  return teardown;
}
