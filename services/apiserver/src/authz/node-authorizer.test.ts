import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { authorizeNode, nodeOf, podReferences } from './node-authorizer.js';
import { BOOTSTRAP_CLUSTER_ROLES } from './bootstrap-policy.js';
import type { RequestAttributes } from './rbac.js';

const NODE_RULES = BOOTSTRAP_CLUSTER_ROLES.find((r) => r.metadata?.name === 'system:node')!.rules!;
const node1 = { name: 'system:node:node-1', groups: ['system:nodes', 'system:authenticated'] };
const pod: Pod = {
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    nodeName: 'node-1',
    serviceAccountName: 'web-sa',
    volumes: [
      { name: 'v', secret: { secretName: 'tls' } },
      { name: 'p', projected: { sources: [{ configMap: { name: 'kube-root-ca.crt' } }] } },
    ],
    containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'env' } }], env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'key', key: 'k' } } }] }],
  },
};
const podsOf = (ns: string, node: string) => (ns === 'default' && node === 'node-1' ? [pod] : []);
const res = (verb: string, resource: string, name?: string, extra: Partial<RequestAttributes> = {}): RequestAttributes =>
  ({ resourceRequest: true, verb, apiGroup: '', resource, namespace: 'default', name, ...extra }) as RequestAttributes;

describe('Node authorizer', () => {
  it('knows a node only by user system:node:NAME in group system:nodes', () => {
    expect(nodeOf(node1)).toBe('node-1');
    expect(nodeOf({ name: 'system:node:node-1', groups: [] })).toBeUndefined();
    expect(nodeOf({ name: 'alice', groups: ['system:nodes'] })).toBeUndefined();
    expect(authorizeNode({ name: 'alice', groups: [] }, res('get', 'secrets', 'tls'), NODE_RULES, podsOf)).toBeUndefined();
  });

  it('finds what a pod refers to: volumes, projected sources, env and envFrom, its service account', () => {
    const r = podReferences(pod);
    expect([...r.secrets].sort()).toEqual(['key', 'tls']);
    expect([...r.configmaps].sort()).toEqual(['env', 'kube-root-ca.crt']);
    expect([...r.serviceaccounts]).toEqual(['web-sa']);
  });

  it('reads a secret or configmap only when one of its pods refers to it, one at a time', () => {
    expect(authorizeNode(node1, res('get', 'secrets', 'tls'), NODE_RULES, podsOf)?.allowed).toBe(true);
    expect(authorizeNode(node1, res('watch', 'configmaps', 'env'), NODE_RULES, podsOf)?.allowed).toBe(true);
    expect(authorizeNode(node1, res('get', 'secrets', 'other'), NODE_RULES, podsOf)).toEqual({
      allowed: false,
      reason: "no relationship found between node 'node-1' and this object",
    });
    expect(authorizeNode(node1, res('list', 'secrets'), NODE_RULES, podsOf)).toEqual({ allowed: false, reason: 'can only read individual secrets' });
    expect(authorizeNode(node1, res('update', 'secrets', 'tls'), NODE_RULES, podsOf)?.allowed).toBe(false);
    // Another node has no pod referring to it.
    expect(authorizeNode({ ...node1, name: 'system:node:node-2' }, res('get', 'secrets', 'tls'), NODE_RULES, podsOf)?.allowed).toBe(false);
  });

  it("asks tokens only for its pods' service accounts", () => {
    expect(authorizeNode(node1, res('create', 'serviceaccounts', 'web-sa', { subresource: 'token' }), NODE_RULES, podsOf)?.allowed).toBe(true);
    expect(authorizeNode(node1, res('create', 'serviceaccounts', 'default', { subresource: 'token' }), NODE_RULES, podsOf)?.allowed).toBe(false);
    expect(authorizeNode(node1, res('get', 'serviceaccounts', 'web-sa'), NODE_RULES, podsOf)?.allowed).toBe(false);
  });

  it('uses Leases in kube-node-lease only', () => {
    const lease = (verb: string, namespace: string) => res(verb, 'leases', 'node-1', { apiGroup: 'coordination.k8s.io', namespace });
    expect(authorizeNode(node1, lease('update', 'kube-node-lease'), NODE_RULES, podsOf)?.allowed).toBe(true);
    expect(authorizeNode(node1, lease('get', 'kube-system'), NODE_RULES, podsOf)?.reason).toBe(
      'can only access leases in the "kube-node-lease" system namespace',
    );
    expect(authorizeNode(node1, lease('list', 'kube-node-lease'), NODE_RULES, podsOf)?.allowed).toBe(false);
  });

  it('does the rest by the node rules, and has no opinion on what they do not allow', () => {
    expect(authorizeNode(node1, res('list', 'pods'), NODE_RULES, podsOf)?.allowed).toBe(true);
    expect(authorizeNode(node1, res('update', 'nodes', 'node-2', { namespace: undefined, subresource: 'status' }), NODE_RULES, podsOf)?.allowed).toBe(true);
    expect(authorizeNode(node1, res('create', 'deployments', undefined, { apiGroup: 'apps' }), NODE_RULES, podsOf)).toBeUndefined();
  });
});
