/**
 * The controller's own HTTP endpoint, on ingress-nginx's port 10254:
 * /healthz is 200 once nginx runs a configuration made from synced caches
 * (the Deployment's readiness and liveness probes ask it), /metrics is
 * Prometheus text.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exposition, type MetricsRegistry } from '@kemu/client/rest';

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export function startHealthServer(port: number, address: string, healthy: () => boolean, registry: MetricsRegistry): Promise<HealthServer> {
  const text = (res: http.ServerResponse, code: number, body: string) => {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') return healthy() ? text(res, 200, 'ok') : text(res, 500, 'nginx is not serving a synced configuration yet');
    if (path !== '/metrics') return text(res, 404, 'not found');
    exposition(registry).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType });
        res.end(body);
      },
      (err: unknown) => text(res, 500, err instanceof Error ? err.message : 'metrics collection failed'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    );
  });
}
