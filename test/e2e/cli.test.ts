/** `kemu` itself: idempotent up/down, status, logs, exec, kubeconfig. */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from './global-setup.js';
import { ctx, kemu } from './helpers.js';

describe('kemu CLI', () => {
  it('says so when the cluster is already up', () => {
    expect(kemu('up')).toContain(`Cluster "${ctx().project}" is already running; nothing to do.`);
  });

  it('shows what runs where', () => {
    const out = kemu('status');
    expect(out).toMatch(new RegExp(`etcd\\s+running\\s+\\d+\\s+${ctx().subnet}\\.0\\.2`));
    expect(out).toMatch(new RegExp(`apiserver\\s+running\\s+\\d+\\s+${ctx().subnet}\\.0\\.3`));
  });

  it('runs commands inside a service namespace, with its own address', () => {
    const out = kemu('exec', 'apiserver', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0');
    expect(out).toContain(`${ctx().subnet}.0.3/16`);
  });

  it('is on the PATH of npm scripts: `npx kemu` works after the setup (a fresh clone included)', () => {
    const out = execFileSync('npx', ['--no-install', 'kemu', '-p', ctx().project, '--subnet', ctx().subnet, 'status'], {
      cwd: resolve(import.meta.dirname, '../..'),
      env: { ...process.env, KEMU_HOME: ctx().home },
      encoding: 'utf8',
    });
    expect(out).toMatch(/apiserver\s+running/);
  });

  it('prints logs and the kubeconfig', () => {
    expect(kemu('logs', 'apiserver')).toContain('api-server running');
    const kc = kemu('kubeconfig');
    expect(kc).toContain(`server: https://${ctx().subnet}.0.3:6443`);
    expect(kc).toContain('client-certificate-data:');
  });

  it('is harmless on a cluster that does not exist', () => {
    const env = { ...process.env, KEMU_HOME: ctx().home };
    const down = execFileSync(process.execPath, [CLI, '-p', 'kemu-e2e-none', '--subnet', '172.31', 'down'], { env, encoding: 'utf8' });
    expect(down).toContain('No cluster "kemu-e2e-none" here; nothing to remove.');
    const status = execFileSync(process.execPath, [CLI, '-p', 'kemu-e2e-none', 'status'], { env, encoding: 'utf8' });
    expect(status).toContain('No cluster "kemu-e2e-none" here.');
  });
});
