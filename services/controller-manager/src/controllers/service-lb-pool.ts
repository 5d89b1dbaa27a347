/**
 * The LoadBalancer address pool and what each Service holds of it, MetalLB's
 * allocator for one IPv4 pool (internal/allocator): an address is taken by one
 * Service, or shared by several that carry the same
 * `metallb.io/allow-shared-ip` key (and, with externalTrafficPolicy Local,
 * the same selector) and whose ports do not clash. No I/O: the controller
 * feeds it what the cache shows and writes what it decides. Error texts are
 * MetalLB's, so `kubectl describe svc` reads as it does on a MetalLB cluster.
 */
import { AddressError, broadcastAddress, formatIPv4, isIPv4, networkAddress, parseCidr, parseIPv4, subnet, subnetCount } from '@kemu/api';
import type { Service } from 'kubernetes-types/core/v1.js';

/** Inclusive [first, last] addresses, as numbers. */
export interface IpRange {
  readonly first: number;
  readonly last: number;
}

/**
 * Parse `--lb-range`: comma-separated CIDRs (every address of the block, network and
 * broadcast included, as a MetalLB IPAddressPool takes them) or `a.b.c.d-a.b.c.e` ranges.
 * Throws AddressError naming the bad part.
 */
export function parseLbRange(text: string): IpRange[] {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!parts.length) throw new AddressError(`invalid LoadBalancer range: "${text}"`);
  return parts.map((p) => {
    if (p.includes('/')) {
      const c = parseCidr(p);
      return { first: networkAddress(c), last: broadcastAddress(c) };
    }
    const dash = p.split('-');
    if (dash.length !== 2) throw new AddressError(`invalid LoadBalancer range: "${p}" (want a CIDR or a.b.c.d-a.b.c.e)`);
    const [first, last] = dash.map((s) => parseIPv4(s.trim()));
    if (first > last) throw new AddressError(`invalid LoadBalancer range: "${p}" (the first address is after the last)`);
    return { first, last };
  });
}

export function formatLbRange(ranges: readonly IpRange[]): string {
  return ranges.map((r) => (r.first === r.last ? formatIPv4(r.first) : `${formatIPv4(r.first)}-${formatIPv4(r.last)}`)).join(',');
}

/**
 * The default pool on a node network: its last /24 without that block's first and last
 * address (172.28.0.0/16 → 172.28.255.1-172.28.255.254). kemu puts the control plane at
 * .0.x and nodes at .1.x counting up, so the top of the network stays free; .0 and .255
 * are left out because some stacks treat them as network/broadcast (MetalLB's
 * avoidBuggyIPs). A node network smaller than a /24 is its upper half, less its broadcast.
 */
export function defaultLbRange(nodeCIDR: string): IpRange[] {
  const c = parseCidr(nodeCIDR);
  if (c.prefix <= 24) {
    const top = subnet(c, 24, subnetCount(c, 24) - 1);
    return [{ first: top.network + 1, last: top.network + 254 }];
  }
  if (c.prefix >= 31) throw new AddressError(`node network ${nodeCIDR} is too small for a LoadBalancer pool; give --lb-range`);
  const half = subnet(c, c.prefix + 1, 1);
  return [{ first: half.network, last: broadcastAddress(half) - 1 }];
}

/**
 * The node network the controller-manager sits on when no `--node-cidr` is given: the
 * /16 around the api-server's IPv4 address (kemu's compose network is `<subnet>.0.0/16`
 * with the api-server at `<subnet>.0.3`). A host name or a loopback address says nothing
 * about the node network: undefined.
 */
export function nodeCidrFromApiserver(address: string): string | undefined {
  const host = address
    .replace(/^[a-z]+:\/\//, '')
    .replace(/:\d+$/, '')
    .replace(/\/.*$/, '');
  if (!isIPv4(host) || host.startsWith('127.')) return undefined;
  const ip = parseIPv4(host);
  return `${formatIPv4((ip & 0xffff0000) >>> 0)}/16`;
}

export const inPool = (pool: readonly IpRange[], ip: number): boolean => pool.some((r) => ip >= r.first && ip <= r.last);

// ---------------------------------------------------------------- what a Service asks of an address

export const ANNOTATION_LB_IPS = 'metallb.io/loadBalancerIPs';
export const ANNOTATION_SHARED = 'metallb.io/allow-shared-ip';
const DEPRECATED_LB_IPS = 'metallb.universe.tf/loadBalancerIPs';
const DEPRECATED_SHARED = 'metallb.universe.tf/allow-shared-ip';

/** What a Service needs of the address it shares: its ports, its sharing key and (Local policy) its backends. */
export interface LbClaim {
  /** `TCP/80`, … */
  readonly ports: readonly string[];
  /** The allow-shared-ip annotation; empty: the address is the Service's alone. */
  readonly sharingKey: string;
  /** With externalTrafficPolicy Local, the selector: sharing Services must pick the same pods, or one node could not answer for both. */
  readonly backendKey: string;
}

function annotation(svc: Service, stable: string, deprecated: string): string | undefined {
  const a = svc.metadata?.annotations ?? {};
  return a[stable] ?? a[deprecated];
}

export function claimOf(svc: Service): LbClaim {
  const spec = svc.spec ?? {};
  const backendKey =
    spec.externalTrafficPolicy === 'Local'
      ? Object.entries(spec.selector ?? {})
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => `${k}=${v}`)
          .join(',')
      : '';
  return {
    ports: (spec.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`),
    sharingKey: annotation(svc, ANNOTATION_SHARED, DEPRECATED_SHARED) ?? '',
    backendKey,
  };
}

/** The address the user asked for (annotation or spec.loadBalancerIP), none, or why the request is invalid. */
export function requestedIP(svc: Service): { ip?: string; error?: string } {
  const fromAnnotation = annotation(svc, ANNOTATION_LB_IPS, DEPRECATED_LB_IPS);
  const fromSpec = svc.spec?.loadBalancerIP;
  if (!fromAnnotation && !fromSpec) return {};
  if (fromAnnotation && fromSpec) return { error: `service can not have both ${ANNOTATION_LB_IPS} and svc.Spec.LoadBalancerIP` };
  if (fromAnnotation) {
    const ips = fromAnnotation.split(',').map((s) => s.trim());
    // One IPv4 address: the pool is IPv4 only, so a second address (dual stack) cannot be met.
    if (ips.length !== 1 || !isIPv4(ips[0])) return { error: `invalid ${ANNOTATION_LB_IPS}: "${fromAnnotation}"` };
    return { ip: ips[0] };
  }
  if (!isIPv4(fromSpec)) return { error: `invalid spec.loadBalancerIP "${fromSpec}"` };
  return { ip: fromSpec };
}

// ---------------------------------------------------------------- the allocator

/** Who holds which address. Deterministic: the same calls in the same order give the same addresses. */
export class LbAllocator {
  private byKey = new Map<string, { ip: number; claim: LbClaim }>();
  private byIp = new Map<number, Map<string, LbClaim>>();

  constructor(readonly pool: readonly IpRange[]) {}

  ipOf(key: string): string | undefined {
    const a = this.byKey.get(key);
    return a && formatIPv4(a.ip);
  }

  /** Addresses in use (each once). */
  get used(): number {
    return this.byIp.size;
  }

  /** Why `key` may not hold `ip` with `claim`, or undefined when it may. */
  refusal(key: string, ip: number, claim: LbClaim): string | undefined {
    if (!inPool(this.pool, ip)) return `"${formatIPv4(ip)}" is not allowed in config`;
    const holders = [...(this.byIp.get(ip) ?? new Map<string, LbClaim>())].filter(([k]) => k !== key);
    if (!holders.length) return undefined;
    const others = holders.map(([k]) => k);
    if (holders.some(([, c]) => !c.sharingKey || !claim.sharingKey || c.sharingKey !== claim.sharingKey || c.backendKey !== claim.backendKey)) {
      return `can't change sharing key for "${key}", address also in use by ${others.join(',')}`;
    }
    for (const port of claim.ports) if (holders.some(([, c]) => c.ports.includes(port))) return `port ${port} is already in use on "${formatIPv4(ip)}"`;
    return undefined;
  }

  /** Take `ip` for `key` (giving up what it held before); the refusal when it may not. */
  assign(key: string, ip: string | number, claim: LbClaim): string | undefined {
    const n = typeof ip === 'string' ? parseIPv4(ip) : ip;
    const why = this.refusal(key, n, claim);
    if (why) return why;
    this.release(key);
    this.byKey.set(key, { ip: n, claim });
    const holders = this.byIp.get(n) ?? new Map<string, LbClaim>();
    holders.set(key, claim);
    this.byIp.set(n, holders);
    return undefined;
  }

  /**
   * An address for `key`: the one it holds if it still may, else the first of the pool it
   * may take (a shared one whose key matches, or a free one); `no available IPs` otherwise.
   */
  allocate(key: string, claim: LbClaim): { ip: string } | { error: string } {
    const held = this.byKey.get(key);
    if (held && !this.assign(key, held.ip, claim)) return { ip: formatIPv4(held.ip) };
    for (const r of this.pool) {
      for (let ip = r.first; ip <= r.last; ip++) {
        // A free address is always good; only a held one needs the sharing rules.
        if (!this.byIp.has(ip) || !this.refusal(key, ip, claim)) {
          this.assign(key, ip, claim);
          return { ip: formatIPv4(ip) };
        }
      }
    }
    return { error: 'no available IPs' };
  }

  /** Give back what `key` holds; whether it held anything. */
  release(key: string): boolean {
    const a = this.byKey.get(key);
    if (!a) return false;
    this.byKey.delete(key);
    const holders = this.byIp.get(a.ip)!;
    holders.delete(key);
    if (!holders.size) this.byIp.delete(a.ip);
    return true;
  }
}
