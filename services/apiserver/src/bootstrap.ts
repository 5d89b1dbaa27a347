/**
 * What a new cluster has before anyone asks: the system namespaces and the
 * default RBAC policy.
 * Idempotent: run at every start. (The `kubernetes` Service and its
 * endpoints are kept by controlplane/kubernetes-service.ts.)
 */
import { isAlreadyExists, lookupResource } from '@kemu/api';
import type { RestStore } from './registry/rest.js';
import { reconcileDefaultPolicy } from './authz/reconcile.js';

const NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function bootstrap(rest: RestStore): Promise<void> {
  const ns = lookupResource('', 'v1', 'namespaces')!;
  for (const name of NAMESPACES) {
    try {
      await rest.create(ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
  await reconcileDefaultPolicy(rest);
}
