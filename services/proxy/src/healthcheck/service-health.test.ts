import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildModel } from '../model/from-k8s.js';
import { makeService, makeSlice } from '../testing/fixtures.js';
import { ServiceHealthServer, healthCheckAnswer, serviceHealthChecks } from './service-health.js';

/**
 * ns/local: LoadBalancer, Local, health check port 32000, two ports; one pod on node-1 serving both
 * (counts once), one terminating pod on node-2. ns/cluster: LoadBalancer, Cluster (no health check port).
 */
const scenarioEntries = () => {
  const lb = (name: string, policy: 'Local' | 'Cluster', hc?: number) =>
    makeService(
      'ns',
      name,
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.20',
        externalTrafficPolicy: policy,
        ...(hc ? { healthCheckNodePort: hc } : {}),
        ports: [
          { name: 'http', port: 80, nodePort: 30080 },
          { name: 'https', port: 443, nodePort: 30443 },
        ],
      },
      { loadBalancer: { ingress: [{ ip: '172.28.255.1' }] } },
    );
  const eps = [
    { addresses: ['10.244.1.5'], nodeName: 'node-1', conditions: { ready: true, serving: true } },
    { addresses: ['10.244.2.5'], nodeName: 'node-2', conditions: { ready: false, serving: true, terminating: true } },
  ];
  const ports = [
    { name: 'http', port: 8080 },
    { name: 'https', port: 8443 },
  ];
  return buildModel(
    [lb('local', 'Local', 32000), lb('cluster', 'Cluster')],
    [makeSlice('ns', 'local', 1, eps, ports), makeSlice('ns', 'cluster', 1, eps, ports)],
  );
};

describe('serviceHealthChecks', () => {
  it('counts ready endpoints on this node by address, per Service with a health check port', () => {
    const entries = scenarioEntries();
    expect(serviceHealthChecks(entries, 'node-1')).toEqual([{ namespace: 'ns', name: 'local', port: 32000, localEndpoints: 1 }]);
    // node-2's only endpoint is terminating (not ready): it must fail the check though the pod still serves.
    expect(serviceHealthChecks(entries, 'node-2')).toEqual([{ namespace: 'ns', name: 'local', port: 32000, localEndpoints: 0 }]);
    expect(serviceHealthChecks(entries, 'node-9')).toEqual([{ namespace: 'ns', name: 'local', port: 32000, localEndpoints: 0 }]);
  });
});

describe('healthCheckAnswer', () => {
  const c = { namespace: 'ns', name: 'local', port: 32000, localEndpoints: 2 };
  it.each<[string, number, boolean, number]>([
    ['local endpoints, healthy proxy', 2, true, 200],
    ['no local endpoint', 0, true, 503],
    ['an unhealthy proxy', 2, false, 503],
  ])('%s → %i', (_n, localEndpoints, healthy, status) => {
    const a = healthCheckAnswer({ ...c, localEndpoints }, healthy);
    expect(a.status).toBe(status);
    expect(JSON.parse(a.body)).toEqual({ service: { namespace: 'ns', name: 'local' }, localEndpoints, serviceProxyHealthy: healthy });
  });
});

describe('ServiceHealthServer', () => {
  let server: ServiceHealthServer | undefined;
  afterEach(() => server?.stop());
  const get = (port: number) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  const freePort = () =>
    new Promise<number>((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });

  it('opens a port per Service, follows the count, and closes the port when the Service goes', async () => {
    const port = await freePort();
    server = new ServiceHealthServer(pino({ level: 'silent' }), () => true, '127.0.0.1');
    const check = { namespace: 'ns', name: 'local', port, localEndpoints: 1 };
    await server.sync([check]);
    expect((await get(port)).status).toBe(200);
    await server.sync([{ ...check, localEndpoints: 0 }]);
    const r = await get(port);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ localEndpoints: 0 });
    await server.sync([]);
    await expect(get(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});
