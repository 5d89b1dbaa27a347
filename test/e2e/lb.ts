/**
 * LoadBalancer addresses seen from the host, for the suites that follow one:
 * requests from the host and which node answers ARP for an address.
 */
import { spawnSync } from 'node:child_process';
import { kemu, waitFor } from './helpers.js';

/** A request from the host (a new connection each time): status code and body; code 0 when nothing answered. */
export function fromHost(url: string, host?: string): { code: number; body: string } {
  const r = spawnSync('curl', ['-s', '--max-time', '3', '-w', '\n%{http_code}', ...(host ? ['-H', `Host: ${host}`] : []), url], { encoding: 'utf8' });
  const lines = (r.stdout ?? '').split('\n');
  return { code: Number(lines.pop()), body: lines.join('\n') };
}

/** Which nodes answer ARP for `ip`, from `kemu status` (it reads the nodes' interfaces). */
export function holders(ip: string): string[] {
  const line = kemu('status')
    .split('\n')
    .find((l) => l.startsWith('LoadBalancer addresses'));
  const pairs = (line?.split(': ')[1] ?? '').split(', ').map((p) => p.split(' '));
  return pairs.filter(([a]) => a === ip).map(([, node]) => node);
}

/** The one node answering for `ip` (other than `not`), once exactly one does. */
export const holder = (ip: string, not?: string, timeoutMs = 20_000) =>
  waitFor(
    `one node${not ? ` other than ${not}` : ''} answering ARP for ${ip}`,
    () => {
      const h = holders(ip);
      return h.length === 1 && h[0] !== not && h[0];
    },
    timeoutMs,
    500,
  );
