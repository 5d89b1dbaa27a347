/**
 * What a new cluster has before anyone asks: the system namespaces, the
 * `kubernetes` Service at the first ClusterIP and its Endpoints (and
 * EndpointSlice) pointing at the api-servers. Idempotent: run at every start.
 */
import { isAlreadyExists, isConflict, isNotFound, lookupResource, type KubeObject } from '@kemu/api';
import type { RestStore } from './registry/rest.js';

const NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function bootstrap(rest: RestStore, opts: { kubernetesIP: string; endpoints: string[]; port: number }): Promise<void> {
  const ns = lookupResource('', 'v1', 'namespaces')!;
  for (const name of NAMESPACES) {
    await ignoreExists(rest.create(ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  }
  const svc = lookupResource('', 'v1', 'services')!;
  // Checked first: creating it again would try to take 10.96.0.1 twice.
  const existing = await rest.get(svc, 'default', 'kubernetes').catch((e) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
  if (!existing) await ignoreExists(
    rest.create(svc, 'default', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: opts.kubernetesIP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: opts.port }], sessionAffinity: 'None' },
    }),
  );
  const ep = lookupResource('', 'v1', 'endpoints')!;
  const endpoints: KubeObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: opts.endpoints.map((ip) => ({ ip })), ports: [{ name: 'https', port: opts.port, protocol: 'TCP' }] }],
  };
  await upsert(rest, ep, 'default', endpoints);
  const slices = lookupResource('discovery.k8s.io', 'v1', 'endpointslices')!;
  await upsert(rest, slices, 'default', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: opts.endpoints.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'https', port: opts.port, protocol: 'TCP' }],
  });
}

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/** Create, or bring the stored object's content in line (another api-server may race us). */
async function upsert(rest: RestStore, info: NonNullable<ReturnType<typeof lookupResource>>, ns: string, obj: KubeObject): Promise<void> {
  try {
    await rest.create(info, ns, obj);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    try {
      await rest.update(info, ns, obj.metadata.name!, obj);
    } catch (e2) {
      if (!isConflict(e2)) throw e2;
    }
  }
}
