import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './index.js';

const deploy = {
  metadata: { name: 'd', labels: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          { name: 'web', image: 'nginx:1', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] },
          { name: 'side', image: 'busybox' },
        ],
        volumes: [{ name: 'v', emptyDir: {} }],
      },
    },
  },
};

describe('JSON patch (RFC 6902)', () => {
  it('applies add, replace, remove, move, copy and test', () => {
    const out = applyJsonPatch(deploy, [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/metadata/labels/c', value: '3' },
      { op: 'remove', path: '/metadata/labels/a' },
      { op: 'copy', from: '/metadata/labels/b', path: '/metadata/labels/d' },
      { op: 'move', from: '/metadata/labels/d', path: '/metadata/labels/e' },
      { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'third', image: 'x' } },
    ]) as typeof deploy;
    expect(out.spec.replicas).toBe(3);
    expect(out.metadata.labels).toEqual({ b: '2', c: '3', e: '2' });
    expect(out.spec.template.spec.containers.map((c) => c.name)).toEqual(['web', 'side', 'third']);
    expect(deploy.spec.replicas).toBe(1); // the input is untouched
  });
  it('fails on a missing path and on a failed test, with a 422', () => {
    expect(() => applyJsonPatch(deploy, [{ op: 'remove', path: '/spec/nope' }])).toThrow(/nonexistent/);
    expect(() => applyJsonPatch(deploy, [{ op: 'test', path: '/spec/replicas', value: 2 }])).toThrow(/test failed/);
    try {
      applyJsonPatch(deploy, [{ op: 'remove', path: '/spec/nope' }]);
    } catch (e) {
      expect((e as { code: number }).code).toBe(422);
    }
  });
});

describe('JSON merge patch (RFC 7386)', () => {
  it('merges maps, replaces lists, deletes on null', () => {
    const out = applyMergePatch(deploy, {
      metadata: { labels: { a: null, z: '9' } },
      spec: { template: { spec: { containers: [{ name: 'only' }] } } },
    }) as typeof deploy;
    expect(out.metadata.labels).toEqual({ b: '2', z: '9' });
    expect(out.spec.template.spec.containers).toEqual([{ name: 'only' }]);
  });
});

describe('strategic merge patch', () => {
  const spec = (o: unknown) => (o as typeof deploy).spec.template.spec;
  it('merges containers by name and keeps the others', () => {
    const out = applyStrategicMergePatch(deploy, { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } });
    expect(spec(out).containers).toEqual([
      { name: 'web', image: 'nginx:2', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] },
      { name: 'side', image: 'busybox' },
    ]);
  });
  it('merges env by name and ports by containerPort', () => {
    const out = applyStrategicMergePatch(deploy, {
      spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'B', value: '2' }], ports: [{ containerPort: 80, name: 'http' }] }] } } },
    });
    expect(spec(out).containers[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(spec(out).containers[0].ports).toEqual([{ containerPort: 80, name: 'http' }]);
  });
  it('deletes a list item with $patch: delete', () => {
    const out = applyStrategicMergePatch(deploy, { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } });
    expect(spec(out).containers.map((c) => c.name)).toEqual(['web']);
  });
  it('replaces a map with $patch: replace and a list with a replace directive', () => {
    const out = applyStrategicMergePatch(deploy, {
      metadata: { labels: { $patch: 'replace', only: 'x' } },
      spec: { template: { spec: { volumes: [{ $patch: 'replace' }, { name: 'w', emptyDir: {} }] } } },
    }) as typeof deploy;
    expect(out.metadata.labels).toEqual({ only: 'x' });
    expect(spec(out).volumes).toEqual([{ name: 'w', emptyDir: {} }]);
  });
  it('orders items by $setElementOrder', () => {
    const out = applyStrategicMergePatch(deploy, {
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }], containers: [{ name: 'web', image: 'nginx:3' }] } } },
    });
    expect(spec(out).containers.map((c) => c.name)).toEqual(['side', 'web']);
  });
  it('merges finalizers as a set and deletes with $deleteFromPrimitiveList', () => {
    const a = applyStrategicMergePatch(deploy, { metadata: { finalizers: ['y', 'x'] } }) as typeof deploy;
    expect(a.metadata.finalizers).toEqual(['x', 'y']);
    const b = applyStrategicMergePatch(a, { metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } }) as typeof deploy;
    expect(b.metadata.finalizers).toEqual(['y']);
  });
  it('keeps only $retainKeys', () => {
    const out = applyStrategicMergePatch(
      { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
    );
    expect(out).toEqual({ spec: { strategy: { type: 'Recreate' } } });
  });
  it('merges Service ports by port', () => {
    const svc = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
    const out = applyStrategicMergePatch(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }) as typeof svc;
    expect(out.spec.ports).toEqual([{ port: 80, targetPort: 9090 }, { port: 443 }]);
  });
  it('replaces lists without a merge key (args)', () => {
    const out = applyStrategicMergePatch({ spec: { containers: [{ name: 'a', args: ['1', '2'] }] } }, { spec: { containers: [{ name: 'a', args: ['3'] }] } });
    expect(out).toEqual({ spec: { containers: [{ name: 'a', args: ['3'] }] } });
  });
});
