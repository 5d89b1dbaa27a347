/**
 * What a new cluster has before anyone asks: the system namespaces, the
 * default RBAC policy and the nodes' bootstrap token Secret.
 * Idempotent: run at every start. (The `kubernetes` Service and its
 * endpoints are kept by controlplane/kubernetes-service.ts.)
 */
import { isAlreadyExists, lookupResource } from '@kemu/api';
import type { RestStore } from './registry/rest.js';
import { reconcileDefaultPolicy } from './authz/reconcile.js';
import { BOOTSTRAP_TOKEN_SECRET_TYPE, parseBootstrapToken } from './auth/bootstrap-tokens.js';

const NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function bootstrap(rest: RestStore, o: { bootstrapToken?: string } = {}): Promise<void> {
  const ns = lookupResource('', 'v1', 'namespaces')!;
  for (const name of NAMESPACES) {
    try {
      await rest.create(ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
  await reconcileDefaultPolicy(rest);
  if (o.bootstrapToken) await ensureBootstrapTokenSecret(rest, o.bootstrapToken);
}

/**
 * The Secret of the token kubelets join with, as kubeadm init's bootstrap-token phase writes it (kemu's has no
 * expiration: nodes join whenever they are added). A token that is not `[a-z0-9]{6}.[a-z0-9]{16}` is an error.
 */
async function ensureBootstrapTokenSecret(rest: RestStore, token: string): Promise<void> {
  const t = parseBootstrapToken(token);
  if (!t) throw new Error('--bootstrap-token-file: the token must be of the form [a-z0-9]{6}.[a-z0-9]{16}');
  const secrets = lookupResource('', 'v1', 'secrets')!;
  try {
    await rest.create(secrets, 'kube-system', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `bootstrap-token-${t.id}`, namespace: 'kube-system' },
      type: BOOTSTRAP_TOKEN_SECRET_TYPE,
      data: Object.fromEntries(
        Object.entries({
          description: "The nodes' bootstrap token, made by kemu init.",
          'token-id': t.id,
          'token-secret': t.secret,
          'usage-bootstrap-authentication': 'true',
          'usage-bootstrap-signing': 'true',
          'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
        }).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
    });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}
