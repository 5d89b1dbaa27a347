import { describe, expect, it } from 'vitest';
import { canonical, parseImageRef } from './image-ref.js';
import { nodeObject } from './node-status.js';

describe('image references', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.25', 'docker.io/library/nginx:1.25'],
    ['docker.io/library/nginx:latest', 'docker.io/library/nginx:latest'],
    ['bprashanth/nginxhttps:1.0', 'docker.io/bprashanth/nginxhttps:1.0'],
    ['registry.k8s.io/e2e-test-images/agnhost:2.39', 'registry.k8s.io/e2e-test-images/agnhost:2.39'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['radial/busyboxplus:curl', 'docker.io/radial/busyboxplus:curl'],
    [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
  ])('%s → %s', (ref, want) => expect(canonical(parseImageRef(ref))).toBe(want));
  it.each(['', 'Nginx', 'nginx:', 'a b', 'x@sha256:zz'])('refuses %j', (ref) => {
    expect(() => parseImageRef(ref)).toThrow(/invalid reference format/);
  });
});

describe('node status', () => {
  it('reports what kubectl prints and the scheduler reads', () => {
    const n = nodeObject(
      {
        name: 'node-1',
        ip: '172.28.1.1',
        cpu: 2,
        memoryBytes: 4 * 2 ** 30,
        maxPods: 110,
        kernel: '6.1',
        osImage: 'Debian',
        arch: 'amd64',
        memoryAvailable: 2 ** 31,
        diskFreeFraction: 0.5,
        pidsUsedFraction: 0,
      },
      undefined,
      new Date('2026-01-01T00:00:00Z'),
    );
    expect(n.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': 'node-1', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });
    expect(n.status.capacity).toEqual({ cpu: '2', memory: '4194304Ki', pods: '110', 'ephemeral-storage': '10Gi' });
    expect(n.status.addresses).toEqual([
      { type: 'InternalIP', address: '172.28.1.1' },
      { type: 'ExternalIP', address: '172.28.1.1' },
      { type: 'Hostname', address: 'node-1' },
    ]);
    expect(n.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect(n.status.nodeInfo.kubeletVersion).toBe('v1.32.0');
  });
});
