/**
 * The few settings of a CoreDNS Corefile this server honours, so the
 * `coredns` ConfigMap means what it says: the port of the server block, the
 * kubernetes plugin's zone, `pods` and `ttl`, `forward . <resolv.conf or
 * addresses>`, and the ports of health, ready and prometheus. Everything else
 * (errors, cache, loop, reload, loadbalance) is accepted and ignored. Pure.
 */
import type { PodMode } from './core/dns-index.js';

export interface CorefileSettings {
  port?: number;
  zone?: string;
  ttl?: number;
  podMode?: PodMode;
  /** A resolv.conf path, or upstream addresses. */
  forward?: { resolvConf: string } | { upstreams: string[] };
  healthPort?: number;
  readyPort?: number;
  metricsPort?: number;
}

const portOf = (addr: string | undefined, dflt: number) => {
  const m = addr?.match(/:(\d+)$/);
  return m ? Number(m[1]) : dflt;
};

export function parseCorefile(text: string): CorefileSettings {
  const out: CorefileSettings = {};
  // Comments out; braces as their own tokens; one directive per line.
  const lines = text.split('\n').map((l) =>
    l
      .replace(/#.*/, '')
      .replace(/([{}])/g, ' $1 ')
      .trim()
      .split(/\s+/)
      .filter(Boolean),
  );
  let depth = 0;
  let plugin = '';
  for (const words of lines) {
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (w === '{') {
        depth++;
        continue;
      }
      if (w === '}') {
        depth = Math.max(0, depth - 1);
        if (depth <= 1) plugin = '';
        continue;
      }
      if (i > 0) continue;
      const args = words.slice(1).filter((a) => a !== '{' && a !== '}');
      if (depth === 0) {
        // The server block's key: `.:53`, `cluster.local:5353`.
        if (out.port === undefined) out.port = portOf(w, 53);
      } else if (depth === 1) {
        plugin = w;
        if (w === 'kubernetes' && args[0]) out.zone = args[0];
        else if (w === 'forward' && args.length >= 2) out.forward = args[1].includes('/') ? { resolvConf: args[1] } : { upstreams: args.slice(1) };
        else if (w === 'prometheus') out.metricsPort = portOf(args[0], 9153);
        else if (w === 'health') out.healthPort = portOf(args[0], 8080);
        else if (w === 'ready') out.readyPort = portOf(args[0], 8181);
      } else if (depth === 2 && plugin === 'kubernetes') {
        if (w === 'ttl' && args[0]) out.ttl = Number(args[0]);
        if (w === 'pods' && (args[0] === 'verified' || args[0] === 'insecure' || args[0] === 'disabled')) out.podMode = args[0];
      }
    }
  }
  return out;
}
