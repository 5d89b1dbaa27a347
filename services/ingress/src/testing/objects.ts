/** Objects for the controller's tests: Ingresses, Services with their EndpointSlices, TLS secrets, the nginx class. */
import { readFileSync } from 'node:fs';
import type { Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { HTTPIngressPath, Ingress, IngressClass, IngressRule, IngressSpec } from 'kubernetes-types/networking/v1.js';
import type { ClusterState } from '../config/model.js';
import type { RenderOptions } from '../config/render.js';

/** A self-signed certificate for secure.example, made once with openssl (testing/tls.crt, tls.key). */
export const TLS_CRT = readFileSync(new URL('tls.crt', import.meta.url), 'utf8');
export const TLS_KEY = readFileSync(new URL('tls.key', import.meta.url), 'utf8');

export const NGINX_CLASS: IngressClass = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
  spec: { controller: 'k8s.io/ingress-nginx' },
};

export const OPTIONS: RenderOptions = {
  controllerClass: 'k8s.io/ingress-nginx',
  ingressClass: 'nginx',
  watchWithoutClass: false,
  confDir: '/etc/nginx',
  httpListen: '80',
  httpsListen: '443',
  defaultCertificate: '/etc/nginx/ssl/default-fake-certificate.pem',
};

let clock = 0;
/** An Ingress; each one made is a second younger than the one before (the oldest wins conflicts). */
export function ingress(name: string, spec: IngressSpec, annotations: Record<string, string> = {}, namespace = 'default'): Ingress {
  const created = new Date(Date.UTC(2024, 0, 1, 0, 0, clock++)).toISOString().replace('.000', '');
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace, annotations, creationTimestamp: created },
    spec,
  };
}

/** A path of a rule to `service:port`. */
export const path = (p: string, service: string, port: number | string = 80, pathType: HTTPIngressPath['pathType'] = 'Prefix'): HTTPIngressPath => ({
  path: p,
  pathType,
  backend: { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } },
});

export const rule = (host: string | undefined, ...paths: HTTPIngressPath[]): IngressRule => ({ ...(host ? { host } : {}), http: { paths } });

/**
 * A Service with a port `http` (port → targetPort; several ports are `http-<port>`, all to targetPort) and an
 * EndpointSlice with `ips` ready (and `notReady` not).
 */
export function service(
  name: string,
  ips: string[],
  o: { port?: number | number[]; targetPort?: number; notReady?: string[]; namespace?: string } = {},
): { service: Service; slice: EndpointSlice } {
  const namespace = o.namespace ?? 'default';
  const ports = [o.port ?? 80].flat();
  const portName = (p: number) => (ports.length > 1 ? `http-${p}` : 'http');
  const targetPort = o.targetPort ?? 8080;
  return {
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: {
        type: 'ClusterIP',
        clusterIP: '10.96.0.50',
        ports: ports.map((port) => ({ name: portName(port), port, targetPort, protocol: 'TCP' })),
        selector: { app: name },
      },
    },
    slice: {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-abcde`, namespace, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: ports.map((p) => ({ name: portName(p), port: targetPort, protocol: 'TCP' })),
      endpoints: [
        ...ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
        ...(o.notReady ?? []).map((ip) => ({ addresses: [ip], conditions: { ready: false } })),
      ],
    },
  };
}

export function tlsSecret(name: string, crt = TLS_CRT, key = TLS_KEY, namespace = 'default'): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(crt).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') },
  };
}

/** A cluster of these objects, with the nginx class. */
export function cluster(o: { ingresses?: Ingress[]; backends?: { service: Service; slice: EndpointSlice }[]; secrets?: Secret[] }): ClusterState {
  return {
    ingresses: o.ingresses ?? [],
    classes: [NGINX_CLASS],
    services: (o.backends ?? []).map((b) => b.service),
    slices: (o.backends ?? []).map((b) => b.slice),
    secrets: o.secrets ?? [],
  };
}
