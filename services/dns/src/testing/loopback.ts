/**
 * For tests: the DNS server's listeners on 127.0.0.1, every port picked by
 * the kernel, so suites run side by side (and beside a real cluster's DNS)
 * without clashing and without reaching beyond loopback.
 */
import type { ServerOptions } from '../server.js';

export type LoopbackListeners = Required<Pick<ServerOptions, 'address' | 'port' | 'httpAddress' | 'healthPort' | 'readyPort' | 'metricsPort'>>;

export const loopbackListeners = (): LoopbackListeners => ({
  address: '127.0.0.1',
  port: 0,
  httpAddress: '127.0.0.1',
  healthPort: 0,
  readyPort: 0,
  metricsPort: 0,
});
