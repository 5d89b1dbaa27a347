import { describe, expect, it } from 'vitest';
import { chooseDriver, formatDockerStatus } from './select.js';
import { parseTarget, publishedKubeconfig } from './driver.js';

describe('chooseDriver', () => {
  it.each([
    [undefined, undefined, 'namespace'],
    ['docker', undefined, 'docker'],
    [undefined, 'docker', 'docker'],
    ['docker', 'docker', 'docker'],
    [undefined, 'namespace', 'namespace'],
  ] as const)('flag %s, recorded %s: %s', (flag, recorded, want) => {
    expect(chooseDriver('kemu', flag, recorded)).toBe(want);
  });

  it('refuses another driver than the one the cluster runs on, and unknown drivers', () => {
    expect(() => chooseDriver('kemu', 'docker', 'namespace')).toThrow('cluster "kemu" runs on the namespace driver');
    expect(() => chooseDriver('kemu', 'podman', undefined)).toThrow('--driver: "podman" is not one of namespace, docker');
  });
});

describe('the Docker driver', () => {
  it('names nodes node-i and services by their compose name', () => {
    expect(parseTarget('node-2')).toEqual({ service: 'node', index: 2 });
    expect(parseTarget('apiserver')).toEqual({ service: 'apiserver', index: 1 });
    expect(parseTarget('node')).toEqual({ service: 'node', index: 1 });
  });

  it('points the admin kubeconfig at the published port', () => {
    const kc = 'clusters:\n- cluster:\n    certificate-authority-data: X\n    server: https://172.28.0.3:6443\n  name: kemu\n';
    expect(publishedKubeconfig(kc, 16443)).toBe(kc.replace('https://172.28.0.3:6443', 'https://127.0.0.1:16443'));
  });

  it('prints one row per container', () => {
    const out = formatDockerStatus([
      { service: 'apiserver', state: 'running (healthy)', container: 'kemu-apiserver-1', address: '172.28.0.3' },
      { service: 'node-1', state: 'running (healthy)', container: 'kemu-node-1', address: '172.28.1.2', nodeName: '0123456789ab' },
    ]);
    expect(out.split('\n')[0]).toMatch(/^SERVICE\s+STATE\s+CONTAINER\s+ADDRESS\s+NODE$/);
    expect(out).toMatch(/^node-1\s+running \(healthy\)\s+kemu-node-1\s+172\.28\.1\.2\s+0123456789ab$/m);
  });
});
