import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCompose } from './compose.js';
import { PROFILES, envFile, profileEnv } from './profiles.js';

const composeText = readFileSync(new URL('../../../compose/docker-compose.yml', import.meta.url), 'utf8');
const flagsOf = (env: Record<string, string>, service: string) =>
  parseCompose(composeText, { KEMU_NODES: '1', ...env }).services.find((s) => s.name === service)?.command ?? [];

describe('timing profiles', () => {
  it.each(PROFILES)('compose/profiles/%s.env is the table', (p) => {
    expect(readFileSync(new URL(`../../../compose/profiles/${p}.env`, import.meta.url), 'utf8')).toBe(envFile(p));
  });

  it('the compose file, given no variables, runs the fast profile', () => {
    expect(flagsOf({}, 'node-1')).toEqual(flagsOf(profileEnv('fast'), 'node-1'));
    expect(flagsOf({}, 'controller-manager')).toEqual(flagsOf(profileEnv('fast'), 'controller-manager'));
    expect(flagsOf({}, 'apiserver')).toEqual(flagsOf(profileEnv('fast'), 'apiserver'));
    expect(flagsOf({}, 'node-1/kube-proxy')).toEqual(flagsOf(profileEnv('fast'), 'node-1/kube-proxy'));
  });

  it('stock gives every component the flags of Kubernetes’ defaults', () => {
    const env = profileEnv('stock');
    expect(flagsOf(env, 'node-1')).toEqual(expect.arrayContaining(['--node-lease-duration-seconds=40', '--node-status-update-frequency=10s']));
    expect(flagsOf(env, 'controller-manager')).toEqual(
      expect.arrayContaining([
        '--node-monitor-period=5s',
        '--node-monitor-grace-period=40s',
        '--leader-elect-lease-duration=15s',
        '--leader-elect-renew-deadline=10s',
        '--leader-elect-retry-period=2s',
      ]),
    );
    expect(flagsOf(env, 'scheduler-2')).toEqual(expect.arrayContaining(['--leader-elect-lease-duration=15s']));
    expect(flagsOf(env, 'node-1/kube-proxy')).toEqual(expect.arrayContaining(['--min-sync-period=1s']));
    expect(flagsOf(env, 'apiserver')).toEqual(
      expect.arrayContaining(['--default-not-ready-toleration-seconds=300', '--default-unreachable-toleration-seconds=300']),
    );
  });
});
