/**
 * Chain and set names exactly as kube-proxy derives them, so that `iptables-save`
 * and `nft list ruleset` on a kemu node read like on a real one.
 */
import { createHash } from 'node:crypto';
import { endpointString, servicePortNameString, type EndpointInfo, type ServicePortInfo } from './model/types.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding), without padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Every sync names the chains of every Service port and endpoint, and the same names come back sync after sync
 * (kube-proxy computes them once, when it first sees a Service or an endpoint). Remembered here; the memo is dropped
 * whole when it outgrows any live cluster's names, so churn cannot make it grow without bound.
 */
const digests = new Map<string, string>();
const MAX_DIGESTS = 200_000;

/** First n characters of base32(sha256(s)). */
export function hashPrefix(s: string, n: number): string {
  let digest = digests.get(s);
  if (digest === undefined) {
    if (digests.size >= MAX_DIGESTS) digests.clear();
    digest = base32(createHash('sha256').update(s).digest());
    digests.set(s, digest);
  }
  return digest.slice(0, n);
}

type SvcName = Pick<ServicePortInfo, 'namespace' | 'name' | 'portName' | 'protocol'>;

// ---- iptables ----------------------------------------------------------------

/** The 16-character hash shared by a Service port's KUBE-SVC/SVL/EXT/FW chains: sha256(SPN + protocol). */
export function portProtoHash(s: SvcName): string {
  return hashPrefix(servicePortNameString(s) + s.protocol.toLowerCase(), 16);
}

export const svcChain = (s: SvcName): string => `KUBE-SVC-${portProtoHash(s)}`;
export const svlChain = (s: SvcName): string => `KUBE-SVL-${portProtoHash(s)}`;
export const extChain = (s: SvcName): string => `KUBE-EXT-${portProtoHash(s)}`;
export const fwChain = (s: SvcName): string => `KUBE-FW-${portProtoHash(s)}`;

/** KUBE-SEP-: sha256(SPN + protocol + "ip:port"). */
export function sepChain(s: SvcName, ep: Pick<EndpointInfo, 'ip' | 'port'>): string {
  return `KUBE-SEP-${hashPrefix(servicePortNameString(s) + s.protocol.toLowerCase() + endpointString(ep), 16)}`;
}

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-'];

/** Whether a nat chain is one of the per-service chains kube-proxy owns (and may delete when stale). */
export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

// ---- nftables ----------------------------------------------------------------

/** nftables chain names are at most 256 bytes; kube-proxy keeps its names under 240 and truncates with "...". */
const NFT_CHAIN_BASE_MAX = 240;

function hashAndTruncate(name: string): string {
  const full = `${hashPrefix(name, 8)}-${name}`;
  return full.length > NFT_CHAIN_BASE_MAX ? `${full.slice(0, NFT_CHAIN_BASE_MAX - 3)}...` : full;
}

/** "HASH8-namespace/name/protocol/portName", e.g. "ULMVA6XW-ns1/svc1/tcp/p80". */
export function nftServiceBase(s: SvcName): string {
  return hashAndTruncate(`${s.namespace}/${s.name}/${s.protocol.toLowerCase()}/${s.portName}`);
}

/** "HASH8-namespace/name/protocol/portName__ip/port", e.g. "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80". */
export function nftEndpointBase(s: SvcName, ep: Pick<EndpointInfo, 'ip' | 'port'>): string {
  return hashAndTruncate(`${s.namespace}/${s.name}/${s.protocol.toLowerCase()}/${s.portName}__${ep.ip}/${ep.port}`);
}

export const nftServiceChain = (s: SvcName): string => `service-${nftServiceBase(s)}`;
export const nftLocalChain = (s: SvcName): string => `local-${nftServiceBase(s)}`;
export const nftExternalChain = (s: SvcName): string => `external-${nftServiceBase(s)}`;
export const nftFirewallChain = (s: SvcName): string => `firewall-${nftServiceBase(s)}`;
export const nftEndpointChain = (s: SvcName, ep: Pick<EndpointInfo, 'ip' | 'port'>): string => `endpoint-${nftEndpointBase(s, ep)}`;
export const nftAffinitySet = (s: SvcName, ep: Pick<EndpointInfo, 'ip' | 'port'>): string => `affinity-${nftEndpointBase(s, ep)}`;

/** kube-proxy's own per-service chains are the only ones with a "/" in their name. */
export function isNftServiceChainName(chain: string): boolean {
  return chain.includes('/');
}
