import { invalidError, type KubeObject } from '@kemu/api';
import { describe, expect, it } from 'vitest';
import { AllocationError, ServiceAllocator } from './allocator.js';
import { allocate, release, restore } from './service-strategy.js';

/** The Service spec fields these tests read back after allocation. */
interface Spec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ports: { port: number; protocol?: string; nodePort?: number }[];
  externalTrafficPolicy?: string;
  healthCheckNodePort?: number;
}

const mk = (cidr = '10.96.0.0/28', ports: [number, number] = [30000, 30004]) =>
  new ServiceAllocator({ serviceCidr: cidr, nodePortRange: ports, reservedIPs: ['10.96.0.1', '10.96.0.10'] });
const svc = (spec: Partial<Spec>): KubeObject & { spec: Spec } => ({ metadata: { name: 's' }, spec: { ports: [{ port: 80, protocol: 'TCP' }], ...spec } });

describe('ClusterIP and NodePort allocation', () => {
  it('never hands out the reserved addresses at random, and never one twice', () => {
    const a = mk();
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add(a.allocateIP()); // 14 usable - 2 reserved
    expect(seen.size).toBe(12);
    expect(seen.has('10.96.0.1')).toBe(false);
    expect(seen.has('10.96.0.10')).toBe(false);
    expect(() => a.allocateIP()).toThrow(/range is full/);
  });
  it('honours a requested IP if free and in range, else says why', () => {
    const a = mk();
    a.takeIP('10.96.0.10');
    expect(() => a.takeIP('10.96.0.10')).toThrow(/already allocated/);
    expect(() => a.takeIP('10.97.0.5')).toThrow(/not in the valid range/);
  });
  it("says it in Kubernetes' words, the clusterIPs list as the bad value", () => {
    const a = mk('10.96.0.0/12');
    const refusal = (ip: string) => {
      try {
        a.takeIP(ip);
      } catch (e) {
        if (e instanceof AllocationError) return invalidError('Service', '', 'bad', [e.fieldError]).message;
      }
      return 'taken';
    };
    expect(refusal('10.0.0.1')).toBe(
      'Service "bad" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.1"}: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12',
    );
    expect(refusal('10.100.0.7')).toBe('taken');
    expect(refusal('10.100.0.7')).toBe(
      'Service "bad" is invalid: spec.clusterIPs: Invalid value: []string{"10.100.0.7"}: failed to allocate IP 10.100.0.7: provided IP is already allocated',
    );
  });
  it('refuses malformed addresses and counts the range from the network address of the CIDR', () => {
    const a = mk('10.96.0.5/28');
    expect(() => a.takeIP('10.96.0')).toThrow(/not in the valid range/);
    expect(() => a.takeIP('10.96.0.016')).toThrow(/not in the valid range/);
    a.takeIP('10.96.0.2');
    expect(a.stats().freeIPs).toBe(13);
    expect(() => a.takeIP('10.96.0.15')).toThrow(/not in the valid range/); // broadcast
  });
  it('allocates node ports for NodePort services and releases them on type change and delete', () => {
    const a = mk();
    const s = svc({ type: 'NodePort' });
    allocate(a, s).commit();
    const port = s.spec.ports[0].nodePort ?? 0;
    expect(port).toBeGreaterThanOrEqual(30000);
    expect(() => a.takePort(port, 'f')).toThrow(/already allocated/);
    const next = structuredClone(s);
    next.spec.type = 'ClusterIP';
    allocate(a, next, s).commit();
    expect(next.spec.ports[0].nodePort).toBeUndefined();
    a.takePort(port, 'f'); // free again
    release(a, next);
    expect(a.isIPUsed(next.spec.clusterIP ?? '')).toBe(false);
  });
  it('rolls back what it took when a later step fails', () => {
    const a = mk('10.96.0.0/28', [30000, 30000]);
    a.takePort(30000, 'f');
    const s = svc({ type: 'NodePort' });
    expect(() => allocate(a, s)).toThrow(/range is full/);
    expect(a.stats().freeIPs).toBe(14);
  });
  it('headless services get no IP', () => {
    const a = mk();
    const s = svc({ clusterIP: 'None' });
    allocate(a, s).commit();
    expect(s.spec.clusterIPs).toEqual(['None']);
    expect(a.stats().freeIPs).toBe(14);
  });
  it('restores allocations from stored services', () => {
    const a = mk();
    restore(a, [svc({ clusterIP: '10.96.0.5', type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] })]);
    expect(a.isIPUsed('10.96.0.5')).toBe(true);
    expect(() => a.takePort(30001, 'f')).toThrow(/already allocated/);
  });
  it('gives a Local LoadBalancer a health check node port, kept on update and released when it is no longer one', () => {
    const a = mk();
    const s = svc({ type: 'LoadBalancer', externalTrafficPolicy: 'Local' });
    allocate(a, s).commit();
    const hc = s.spec.healthCheckNodePort ?? 0;
    expect(hc).toBeGreaterThanOrEqual(30000);
    expect(hc).not.toBe(s.spec.ports[0].nodePort);
    const same = structuredClone(s);
    delete same.spec.healthCheckNodePort;
    allocate(a, same, s).commit();
    expect(same.spec.healthCheckNodePort).toBe(hc);
    const cluster = {
      ...structuredClone(s),
      spec: { ...structuredClone(s.spec), type: 'ClusterIP', externalTrafficPolicy: undefined, healthCheckNodePort: undefined, ports: [{ port: 80 }] },
    };
    allocate(a, cluster, s).commit();
    expect(a.stats().freePorts).toBe(5);
  });
});
