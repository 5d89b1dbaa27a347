/**
 * status.loadBalancer of the Ingresses, as ingress-nginx's
 * --publish-service sets it: the addresses of the controller's own
 * LoadBalancer Service (its EXTERNAL-IP, or else its externalIPs), on every
 * Ingress the controller serves, so `kubectl get ingress` shows them as
 * ADDRESS. Without --publish-service, the addresses of the nodes the
 * controller's pods run on (a node's ExternalIP, else its InternalIP), as
 * ingress-nginx does on bare metal. Pure: which Ingresses need which status;
 * the controller writes.
 */
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Ingress, IngressLoadBalancerIngress } from 'kubernetes-types/networking/v1.js';

/** The addresses the published Service is reached at, sorted (none while its EXTERNAL-IP is pending). */
export function publishedAddresses(svc: Service | undefined): IngressLoadBalancerIngress[] {
  const lb = (svc?.status?.loadBalancer?.ingress ?? []).flatMap((i): IngressLoadBalancerIngress[] =>
    i.ip ? [{ ip: i.ip }] : i.hostname ? [{ hostname: i.hostname }] : [],
  );
  const out: IngressLoadBalancerIngress[] = lb.length ? lb : (svc?.spec?.externalIPs ?? []).map((ip) => ({ ip }));
  return out.sort((a, b) => (a.ip ?? a.hostname ?? '').localeCompare(b.ip ?? b.hostname ?? ''));
}

/** The addresses of the nodes running `pods` (the controller's replicas), sorted, each once. */
export function nodeAddresses(pods: readonly Pod[], nodes: readonly Node[]): IngressLoadBalancerIngress[] {
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  const ips = new Set<string>();
  for (const p of pods) {
    const addrs = byName.get(p.spec?.nodeName ?? '')?.status?.addresses ?? [];
    const ip = addrs.find((a) => a.type === 'ExternalIP' && a.address)?.address ?? addrs.find((a) => a.type === 'InternalIP' && a.address)?.address;
    if (ip) ips.add(ip);
  }
  return [...ips].sort().map((ip) => ({ ip }));
}

const same = (a: IngressLoadBalancerIngress[] | undefined, b: IngressLoadBalancerIngress[]) =>
  JSON.stringify((a ?? []).map((i) => [i.ip ?? '', i.hostname ?? ''])) === JSON.stringify(b.map((i) => [i.ip ?? '', i.hostname ?? '']));

/** The served Ingresses whose status differs from `addresses`, with the status to write. */
export function statusUpdates(ingresses: readonly Ingress[], served: ReadonlySet<string>, addresses: IngressLoadBalancerIngress[]): Ingress[] {
  return ingresses
    .filter((i) => served.has(`${i.metadata?.namespace ?? 'default'}/${i.metadata?.name ?? ''}`) && !same(i.status?.loadBalancer?.ingress, addresses))
    .map((i) => ({ ...structuredClone(i), status: { loadBalancer: addresses.length ? { ingress: addresses } : {} } }));
}
