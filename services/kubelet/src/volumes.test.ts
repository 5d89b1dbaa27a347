import { describe, expect, it } from 'vitest';
import type { ConfigMap, Pod, Secret } from 'kubernetes-types/core/v1.js';
import { fieldPathValue, resourceFieldValue, volumeFiles, VolumeError, type VolumeSources } from './volumes.js';
import { containerEnv, ContainerConfigError, runtimeEnv } from './container-env.js';

const pod: Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { b: '2', a: '1' }, annotations: { note: 'x' } },
  spec: {
    nodeName: 'node-1',
    serviceAccountName: 'default',
    containers: [{ name: 'c', resources: { requests: { cpu: '250m' }, limits: { memory: '64Mi' } } }],
  },
  status: { hostIP: '172.28.1.1' },
};
const secret: Secret = { metadata: { name: 's' }, data: { user: Buffer.from('admin').toString('base64'), pw: Buffer.from('hunter2').toString('base64') } };
const configMap: ConfigMap = { metadata: { name: 'c' }, data: { color: 'blue' } };

const sources: VolumeSources = {
  secret: (_ns, name) => Promise.resolve(name === 's' ? secret : undefined),
  configMap: (_ns, name) => Promise.resolve(name === 'c' ? configMap : undefined),
  token: (_ns, sa, req) => Promise.resolve(`token-for-${sa}-${req.pod.metadata?.name}-${req.expirationSeconds}`),
};

describe('downward API values', () => {
  it('reads fields as Kubernetes formats them', () => {
    expect(fieldPathValue(pod, 'metadata.labels')).toBe('a="1"\nb="2"');
    expect(fieldPathValue(pod, "metadata.labels['b']")).toBe('2');
    expect(fieldPathValue(pod, "metadata.annotations['note']")).toBe('x');
    expect(fieldPathValue(pod, 'status.podIP', '10.244.1.5')).toBe('10.244.1.5');
    expect(fieldPathValue(pod, 'spec.nodeName')).toBe('node-1');
  });
  it('reads resources in the divisor’s unit, rounding up, with the node’s allocatable for absent limits', () => {
    expect(resourceFieldValue(pod, { resource: 'limits.memory', divisor: '1Mi' }, 'c')).toBe('64');
    expect(resourceFieldValue(pod, { resource: 'requests.cpu', divisor: '1m' }, 'c')).toBe('250');
    expect(resourceFieldValue(pod, { resource: 'requests.cpu' }, 'c')).toBe('1');
    expect(resourceFieldValue(pod, { resource: 'limits.cpu' }, 'c', { cpu: 4, memory: 8 })).toBe('4');
  });
  it('divides exactly: 70m in 10m units is 7 (floats made it 8), 1001m in 1m units 1001', () => {
    const small = { ...pod, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: '70m' }, requests: { cpu: '1.001' } } }] } };
    expect(resourceFieldValue(small, { resource: 'limits.cpu', divisor: '10m' }, 'c')).toBe('7');
    expect(resourceFieldValue(small, { resource: 'requests.cpu', divisor: '1m' }, 'c')).toBe('1001');
    expect(resourceFieldValue(small, { resource: 'limits.cpu', divisor: '100m' }, 'c')).toBe('1');
  });
});

describe('volume files', () => {
  it('secret with items and modes; whole configMap; projected with a token', async () => {
    expect(await volumeFiles(pod, { name: 'v', secret: { secretName: 's', items: [{ key: 'pw', path: 'a/pw', mode: 0o400 }] } }, sources, '')).toEqual([
      { path: 'a/pw', data: Buffer.from('hunter2'), mode: 0o400 },
    ]);
    expect(await volumeFiles(pod, { name: 'v', configMap: { name: 'c', defaultMode: 0o600 } }, sources, '')).toEqual([
      { path: 'color', data: Buffer.from('blue'), mode: 0o600 },
    ]);
    const projected = await volumeFiles(
      pod,
      {
        name: 'v',
        projected: {
          sources: [
            { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
            { downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
      sources,
      '',
    );
    expect(projected.map((f) => [f.path, f.data.toString()])).toEqual([
      ['token', 'token-for-default-p-3607'],
      ['ns', 'ns'],
    ]);
  });
  it('a missing object or key fails unless optional', async () => {
    await expect(volumeFiles(pod, { name: 'v', secret: { secretName: 'nope' } }, sources, '')).rejects.toBeInstanceOf(VolumeError);
    expect(await volumeFiles(pod, { name: 'v', secret: { secretName: 'nope', optional: true } }, sources, '')).toEqual([]);
    await expect(volumeFiles(pod, { name: 'v', configMap: { name: 'c', items: [{ key: 'size', path: 'size' }] } }, sources, '')).rejects.toThrow(
      'configmap references non-existent config key: size',
    );
  });
});

describe('container environment', () => {
  it('layers service env, envFrom (prefix, invalid names skipped) and env with $(VAR) expansion', async () => {
    const c = {
      name: 'c',
      envFrom: [{ secretRef: { name: 's' } }, { prefix: 'CFG_', configMapRef: { name: 'c' } }],
      env: [
        { name: 'A', value: '$(CFG_color)-$(KUBERNETES_SERVICE_HOST)-$(MISSING)' },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k', optional: true } } },
      ],
    };
    const env = await containerEnv(pod, c, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, { sources, podIP: '10.244.1.5' });
    expect(env).toEqual({
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      user: 'admin',
      pw: 'hunter2',
      CFG_color: 'blue',
      A: 'blue-10.96.0.1-$(MISSING)',
      MEM: '64',
      PW: 'hunter2',
    });
  });
  it('a missing secret or key is a CreateContainerConfigError', async () => {
    await expect(
      containerEnv(pod, { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }, {}, { sources, podIP: '' }),
    ).rejects.toThrow(new ContainerConfigError('secret "nope" not found'));
    await expect(
      containerEnv(pod, { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }, {}, { sources, podIP: '' }),
    ).rejects.toThrow("couldn't find key k in Secret ns/s");
  });
});

describe('the environment the runtime starts a program with', () => {
  it('has HOSTNAME, which a variable of the container overrides', () => {
    expect(runtimeEnv('web-0', { A: '1' })).toEqual({ HOSTNAME: 'web-0', A: '1' });
    expect(runtimeEnv('web-0', { HOSTNAME: 'mine' })).toEqual({ HOSTNAME: 'mine' });
  });
});
