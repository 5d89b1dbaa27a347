import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@kemu/api';
import { nodeRestriction, nodeTokenRequestRefusal } from './node-restriction.js';

const o = (x: object) => x as KubeObject;
const pod = (nodeName: string, annotations?: Record<string, string>) =>
  o({ metadata: { name: 'p', namespace: 'default', annotations }, spec: { nodeName, containers: [{ name: 'c' }] } });
const node = (name: string, labels: Record<string, string> = {}, taints: object[] = []) => o({ metadata: { name, labels }, spec: { taints } });
const lease = (ns: string, name: string) => o({ metadata: { name, namespace: ns } });

describe('NodeRestriction', () => {
  it("lets a node write only its own pods' status, delete only its pods, create only mirror pods", () => {
    expect(nodeRestriction('node-1', 'UPDATE', 'pods', 'status', pod('node-1'), pod('node-1'))).toBeUndefined();
    expect(nodeRestriction('node-1', 'UPDATE', 'pods', 'status', pod('node-2'), pod('node-2'))).toBe(
      'node "node-1" can only update pod status for pods with spec.nodeName set to itself',
    );
    expect(nodeRestriction('node-1', 'DELETE', 'pods', undefined, undefined, pod('node-2'))).toBe(
      'node "node-1" can only delete pods with spec.nodeName set to itself',
    );
    expect(nodeRestriction('node-1', 'CREATE', 'pods', undefined, pod('node-1'))).toBe(
      'pod does not have "kubernetes.io/config.mirror" annotation, node "node-1" can only create mirror pods',
    );
    expect(nodeRestriction('node-1', 'CREATE', 'pods', undefined, pod('node-1', { 'kubernetes.io/config.mirror': 'x' }))).toBeUndefined();
    expect(nodeRestriction('node-1', 'UPDATE', 'pods', undefined, pod('node-1'), pod('node-1'))).toMatch(/can only create and delete mirror pods/);
  });

  it('lets a node modify only its own Node, never its taints or node-restriction labels', () => {
    expect(nodeRestriction('node-1', 'UPDATE', 'nodes', undefined, node('node-1', { a: 'b' }), node('node-1'))).toBeUndefined();
    expect(nodeRestriction('node-1', 'UPDATE', 'nodes', undefined, node('node-2'), node('node-2'))).toBe(
      'node "node-1" is not allowed to modify node "node-2"',
    );
    expect(nodeRestriction('node-1', 'UPDATE', 'nodes', undefined, node('node-1', {}, [{ key: 'k', effect: 'NoSchedule' }]), node('node-1'))).toBe(
      'node "node-1" is not allowed to modify taints',
    );
    expect(nodeRestriction('node-1', 'CREATE', 'nodes', undefined, node('node-1', {}, [{ key: 'k', effect: 'NoSchedule' }]))).toBeUndefined();
    expect(nodeRestriction('node-1', 'UPDATE', 'nodes', undefined, node('node-1', { 'node-restriction.kubernetes.io/x': '1' }), node('node-1'))).toBe(
      'node "node-1" is not allowed to modify labels: node-restriction.kubernetes.io/x',
    );
  });

  it('lets a node use only its own Lease in kube-node-lease', () => {
    expect(nodeRestriction('node-1', 'UPDATE', 'leases', undefined, lease('kube-node-lease', 'node-1'), lease('kube-node-lease', 'node-1'))).toBeUndefined();
    expect(nodeRestriction('node-1', 'CREATE', 'leases', undefined, lease('kube-node-lease', 'node-2'))).toBe(
      'can only access node lease with the same name as the requesting node',
    );
    expect(nodeRestriction('node-1', 'CREATE', 'leases', undefined, lease('default', 'node-1'))).toMatch(/kube-node-lease/);
  });

  it('gives a node tokens bound to its own pods only', () => {
    const p = { metadata: { name: 'p', uid: 'u1' }, spec: { nodeName: 'node-1', containers: [] } };
    const tr = (ref?: object) => ({ spec: { audiences: [], boundObjectRef: ref } }) as never;
    expect(nodeTokenRequestRefusal('node-1', tr({ kind: 'Pod', name: 'p', uid: 'u1' }), p)).toBeUndefined();
    expect(nodeTokenRequestRefusal('node-1', tr(), p)).toBe('node requested token not bound to a pod');
    expect(nodeTokenRequestRefusal('node-1', tr({ kind: 'Pod', name: 'p' }), p)).toBe('node requested token with a pod binding without a uid');
    expect(nodeTokenRequestRefusal('node-2', tr({ kind: 'Pod', name: 'p', uid: 'u1' }), p)).toBe(
      'node requested token bound to a pod scheduled on a different node',
    );
  });
});
