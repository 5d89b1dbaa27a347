import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isMirrorPod, mirrorName, mirrorPod, mirrorStatus, nameSuffix, processStartTime } from './mirror.js';
import { expandVars } from './reporter.js';

const manifest: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'kube-scheduler', namespace: 'kube-system', labels: { component: 'kube-scheduler' }, annotations: { 'kemu.dev/pod-ip': '172.28.0.5' } },
  spec: { containers: [{ name: 'kube-scheduler', image: 'registry.k8s.io/kube-scheduler:v1.32.0' }] },
};
const node = { name: 'control-plane', uid: 'u-1' };
const t = (s: number) => new Date(Date.UTC(2026, 10, 29, 8, 0, s));

describe('mirror pods', () => {
  it('are named <name>-<node>, or like a DaemonSet pod from a generateName, owned by the Node and tolerating NoExecute', () => {
    const p = mirrorPod(manifest, node);
    expect(p.metadata?.name).toBe('kube-scheduler-control-plane');
    expect(isMirrorPod(p)).toBe(true);
    expect(p.metadata?.annotations?.['kubernetes.io/config.source']).toBe('file');
    expect(p.metadata?.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'control-plane', uid: 'u-1', controller: true }]);
    expect(p.spec?.nodeName).toBe('control-plane');
    expect(p.spec?.tolerations).toContainEqual({ operator: 'Exists', effect: 'NoExecute' });
    const proxy = mirrorName({ ...manifest, metadata: { generateName: 'kube-proxy-' } }, 'node-1');
    expect(proxy).toMatch(/^kube-proxy-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(proxy).toBe(`kube-proxy-${nameSuffix('node-1')}`);
    expect(nameSuffix('node-2')).not.toBe(nameSuffix('node-1'));
  });

  it('count a restart when the process start time moves, and show a process that does not answer as waiting', () => {
    const pod = mirrorPod(manifest, node);
    const s1 = mirrorStatus(pod, undefined, { alive: true, ready: true, startedAt: t(0) }, '172.28.0.8', t(1));
    expect(s1.phase).toBe('Running');
    expect(s1.podIP).toBe('172.28.0.5');
    expect(s1.hostIP).toBe('172.28.0.8');
    expect(s1.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 0, state: { running: { startedAt: '2026-11-29T08:00:00Z' } } });
    expect(s1.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    // Same start (metrics in whole seconds): nothing changes.
    expect(mirrorStatus(pod, s1, { alive: true, ready: true, startedAt: t(0) }, '172.28.0.8', t(5))).toEqual(s1);
    // Restarted between two rounds.
    const s2 = mirrorStatus(pod, s1, { alive: true, ready: true, startedAt: t(10) }, '172.28.0.8', t(11));
    expect(s2.containerStatuses?.[0]?.restartCount).toBe(1);
    expect(s2.containerStatuses?.[0]?.lastState?.terminated?.startedAt).toBe('2026-11-29T08:00:00Z');
    // Gone: waiting, not ready; back with a new start: one more restart.
    const s3 = mirrorStatus(pod, s2, { alive: false, ready: false, error: 'connection refused' }, '172.28.0.8', t(20));
    expect(s3.containerStatuses?.[0]).toMatchObject({ ready: false, restartCount: 1, state: { waiting: { reason: 'NotResponding' } } });
    expect(s3.phase).toBe('Running');
    expect(s3.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    const s4 = mirrorStatus(pod, s3, { alive: true, ready: false, startedAt: t(25) }, '172.28.0.8', t(26));
    expect(s4.containerStatuses?.[0]).toMatchObject({ ready: false, restartCount: 2, state: { running: { startedAt: '2026-11-29T08:00:25Z' } } });
    // Stopped for good: still waiting, the count stays.
    const s5 = mirrorStatus(pod, s3, { alive: false, ready: false }, '172.28.0.8', t(30));
    expect(s5.containerStatuses?.[0]?.restartCount).toBe(1);
  });

  it('read process_start_time_seconds from Prometheus text (prom-client and Go forms)', () => {
    expect(processStartTime('# HELP x\nprocess_start_time_seconds 1795939794\n')?.getTime()).toBe(1795939794000);
    expect(processStartTime('process_start_time_seconds 1.79593979412e+09\n')?.getTime()).toBe(1795939794120);
    expect(processStartTime('nodejs_heap 1\n')).toBeUndefined();
  });

  it('expand ${VAR} and ${VAR:-default} in manifests', () => {
    expect(expandVars('http://${KEMU_SUBNET:-172.28}.0.2:2379 ${X} $(NODE_NAME)', { KEMU_SUBNET: '10.7' })).toBe('http://10.7.0.2:2379  $(NODE_NAME)');
  });
});
