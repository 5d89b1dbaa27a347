import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { splitHostPort, waitForListener } from './listener.js';

describe('waitForListener', () => {
  it('splits host:port and [v6]:port', () => {
    expect(splitHostPort('172.28.0.3:6444')).toEqual({ host: '172.28.0.3', port: 6444 });
    expect(splitHostPort('[::1]:6443')).toEqual({ host: '::1', port: 6443 });
    expect(() => splitHostPort('nohost')).toThrow(/not host:port/);
  });

  it('resolves once something listens, having said once that it waits', async () => {
    // A port that was free a moment ago: nothing listens on it until the server below starts.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    let said = 0;
    const waiting = waitForListener(`127.0.0.1:${port}`, { intervalMs: 20, sayAfterMs: 50, onWaiting: () => said++ });
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(done).toBe(false);
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    await waiting;
    expect(said).toBe(1);
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('does not wait for what is not host:port', async () => {
    await expect(waitForListener('dns:///kubernetes')).resolves.toBeUndefined();
  });

  it('gives up when aborted', async () => {
    const ac = new AbortController();
    const waiting = waitForListener('127.0.0.1:1', { intervalMs: 20, signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toThrow();
  });
});
