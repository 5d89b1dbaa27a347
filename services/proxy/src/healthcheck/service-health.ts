/**
 * kube-proxy's health check NodePorts (pkg/proxy/healthcheck ServiceHealthServer): a
 * LoadBalancer Service with externalTrafficPolicy Local gets spec.healthCheckNodePort,
 * and every node's kube-proxy answers HTTP on it — 200 while this node has a ready
 * endpoint of the Service, 503 otherwise — so a load balancer sends traffic only to
 * nodes that keep the client's address and still have a pod to give it to.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import type { ServiceEntry } from '../model/types.js';

/** One Service's health check port and what it answers on this node. */
export interface ServiceHealthCheck {
  namespace: string;
  name: string;
  port: number;
  /** Ready endpoints of the Service on this node, counted by address (a pod serving two ports counts once). */
  localEndpoints: number;
}

/** The health checks this node serves, from the proxy model. Pure. */
export function serviceHealthChecks(entries: readonly ServiceEntry[], nodeName: string): ServiceHealthCheck[] {
  const bySvc = new Map<string, { namespace: string; name: string; port: number; ips: Set<string> }>();
  for (const { service: s, endpoints } of entries) {
    if (!s.healthCheckNodePort) continue;
    const k = `${s.namespace}/${s.name}`;
    const e = bySvc.get(k) ?? { namespace: s.namespace, name: s.name, port: s.healthCheckNodePort, ips: new Set<string>() };
    // Ready only: a node whose pods are all terminating must fail its check, though they still serve.
    for (const ep of endpoints) if (ep.ready && ep.nodeName === nodeName) e.ips.add(ep.ip);
    bySvc.set(k, e);
  }
  return [...bySvc.values()].map(({ ips, ...rest }) => ({ ...rest, localEndpoints: ips.size }));
}

/** What one check answers: 200 with local endpoints and a healthy proxy, else 503; kube-proxy's JSON body. Pure. */
export function healthCheckAnswer(c: ServiceHealthCheck, proxyHealthy: boolean): { status: number; body: string } {
  const body = {
    service: { namespace: c.namespace, name: c.name },
    localEndpoints: c.localEndpoints,
    serviceProxyHealthy: proxyHealthy,
  };
  return { status: c.localEndpoints > 0 && proxyHealthy ? 200 : 503, body: JSON.stringify(body, null, '\t') };
}

/** One listener per health check port, opened and closed as the Services come and go. */
export class ServiceHealthServer {
  private servers = new Map<string, { port: number; server: http.Server; check: ServiceHealthCheck }>();

  constructor(
    private log: Logger,
    private proxyHealthy: () => boolean,
    private bindAddress = '0.0.0.0',
  ) {}

  /** Make `checks` the served set: close what went, open what came, update the counts of the rest. */
  async sync(checks: readonly ServiceHealthCheck[]): Promise<void> {
    const want = new Map(checks.map((c) => [`${c.namespace}/${c.name}`, c]));
    for (const [k, s] of this.servers) {
      const c = want.get(k);
      if (c && c.port === s.port) {
        s.check = c;
        continue;
      }
      this.log.info({ service: k, port: s.port }, 'closing health check node port');
      this.close(s.server);
      this.servers.delete(k);
    }
    for (const [k, c] of want) {
      if (this.servers.has(k)) continue;
      try {
        const entry = { port: c.port, check: c, server: await this.listen(k, c.port) };
        this.servers.set(k, entry);
        this.log.info({ service: k, port: c.port }, 'opened health check node port');
      } catch (err) {
        // Another listener holds the port: kube-proxy logs it and tries again at the next sync.
        this.log.error({ err, service: k, port: c.port }, 'failed to start health check node port');
      }
    }
  }

  private listen(key: string, port: number): Promise<http.Server> {
    const server = http.createServer((_req, res) => {
      const s = this.servers.get(key);
      if (!s) {
        res.destroy();
        return;
      }
      const a = healthCheckAnswer(s.check, this.proxyHealthy());
      res.writeHead(a.status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
      res.end(a.body);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.bindAddress, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  stop(): void {
    for (const s of this.servers.values()) this.close(s.server);
    this.servers.clear();
  }

  /** Kept-alive connections too: a closed health check port answers nothing more. */
  private close(server: http.Server): void {
    server.close();
    server.closeAllConnections();
  }
}
