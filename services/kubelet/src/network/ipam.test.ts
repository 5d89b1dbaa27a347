import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { gatewayOf, HostLocalIpam, nextFree } from './ipam.js';
import { vethName } from './sandbox.js';

describe('host-local IPAM', () => {
  it('keeps .1 for the gateway and hands out the lowest free address', () => {
    expect(gatewayOf('10.244.3.0/24')).toBe('10.244.3.1');
    expect(nextFree('10.244.3.0/24', new Set())).toBe('10.244.3.2');
    expect(nextFree('10.244.3.0/24', new Set(['10.244.3.2']))).toBe('10.244.3.3');
    expect(nextFree('10.0.0.0/30', new Set(['10.0.0.2']))).toBeUndefined();
  });
  it('survives a restart through its file, and gives an address back on release', () => {
    const dir = mkdtempSync('/tmp/kemu-ipam-');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'ipam.json');
    const a = new HostLocalIpam('10.244.1.0/24', file);
    expect(a.allocate('pod-1')).toBe('10.244.1.2');
    expect(a.allocate('pod-2')).toBe('10.244.1.3');
    const b = new HostLocalIpam('10.244.1.0/24', file);
    expect(b.allocate('pod-1')).toBe('10.244.1.2');
    b.release('pod-1');
    expect(b.allocate('pod-3')).toBe('10.244.1.2');
    // Another podCIDR (the node was re-registered): nothing carries over.
    expect(new HostLocalIpam('10.244.9.0/24', file).allocations().size).toBe(0);
  });
  it('names veths uniquely within 15 bytes', () => {
    expect(vethName('kemu-pod-abc')).toMatch(/^veth[0-9a-f]{8}$/);
    expect(vethName('kemu-pod-abc')).not.toBe(vethName('kemu-pod-abd'));
  });
});
