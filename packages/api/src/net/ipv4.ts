/**
 * IPv4 addresses and CIDR blocks, the one copy every process uses: the
 * api-server's ClusterIP allocator, the controller-manager's node IPAM, the
 * kubelet's host-local IPAM and the cli's compose addresses.
 *
 * An address is a number (an unsigned 32-bit integer); it is turned into text
 * only at the edges. Arithmetic stays below 2^32, so plain numbers are exact.
 */

/** A malformed address, CIDR or out-of-range request; the message names the culprit. */
export class AddressError extends Error {
  override readonly name = 'AddressError';
}

/** A CIDR block as written: `address` keeps host bits (as Go's net.ParseCIDR returns the IP), `network` drops them. */
export interface Cidr {
  readonly address: number;
  readonly network: number;
  readonly prefix: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parse dotted-quad text. Octets with leading zeros are refused, as
 * Kubernetes' validation does since 1.20 (they are octal to some parsers).
 */
export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p) && Number(p) <= 255)) throw new AddressError(`invalid IP address: "${text}"`);
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** A predicate from a parser: whether `text` is a string the parser takes without throwing. */
const parses =
  (parse: (text: string) => unknown) =>
  (text: unknown): text is string => {
    if (typeof text !== 'string') return false;
    try {
      parse(text);
      return true;
    } catch {
      return false;
    }
  };

export const isIPv4 = parses(parseIPv4);

export function formatIPv4(ip: number): string {
  if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff) throw new AddressError(`not an IPv4 address: ${ip}`);
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
}

/** The netmask of a prefix length, as a number (/24 → 255.255.255.0). */
export function netmask(prefix: number): number {
  // `x << 32` is `x` in JavaScript, so /0 needs its own case.
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parse `a.b.c.d/n`. Host bits may be set (10.96.0.5/12 is accepted; its network is 10.96.0.0). */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const bits = text.slice(slash + 1);
  if (slash < 0 || !/^(0|[1-9][0-9]?)$/.test(bits) || Number(bits) > 32) throw new AddressError(`invalid CIDR address: ${text}`);
  let address: number;
  try {
    address = parseIPv4(text.slice(0, slash));
  } catch {
    throw new AddressError(`invalid CIDR address: ${text}`);
  }
  const prefix = Number(bits);
  return { address, network: (address & netmask(prefix)) >>> 0, prefix };
}

export const isCidr = parses(parseCidr);

const asCidr = (c: Cidr | string): Cidr => (typeof c === 'string' ? parseCidr(c) : c);
const asIp = (ip: number | string): number => (typeof ip === 'string' ? parseIPv4(ip) : ip);

/** The block's canonical text: its network address and prefix (`10.96.0.5/12` → `10.96.0.0/12`). */
export function formatCidr(c: Cidr | string): string {
  const { network, prefix } = asCidr(c);
  return `${formatIPv4(network)}/${prefix}`;
}

/** How many addresses the block holds, network and broadcast included (2^(32-prefix)). */
export function cidrSize(c: Cidr | string): number {
  return 2 ** (32 - asCidr(c).prefix);
}

export function networkAddress(c: Cidr | string): number {
  return asCidr(c).network;
}

export function broadcastAddress(c: Cidr | string): number {
  const { network, prefix } = asCidr(c);
  return network + 2 ** (32 - prefix) - 1;
}

export function contains(c: Cidr | string, ip: number | string): boolean {
  const { network, prefix } = asCidr(c);
  return (asIp(ip) & netmask(prefix)) >>> 0 === network;
}

/** Whether `inner` lies wholly inside `outer`. */
export function containsCidr(outer: Cidr | string, inner: Cidr | string): boolean {
  const o = asCidr(outer);
  const i = asCidr(inner);
  return i.prefix >= o.prefix && contains(o, i.network);
}

/**
 * The n-th address of the block counting from its network address (0); a
 * negative n counts back from the broadcast address (-1). The gateway of a
 * pod CIDR is nthAddress(cidr, 1), the `kubernetes` Service's ClusterIP is
 * nthAddress(serviceCIDR, 1).
 */
export function nthAddress(c: Cidr | string, n: number): number {
  const size = cidrSize(c);
  const i = n < 0 ? size + n : n;
  if (!Number.isInteger(n) || i < 0 || i >= size) throw new AddressError(`address ${n} is outside ${formatCidr(c)} (${size} addresses)`);
  return asCidr(c).network + i;
}

/** The position of `ip` in the block (its offset from the network address). */
export function offsetOf(c: Cidr | string, ip: number | string): number {
  const cidr = asCidr(c);
  const n = asIp(ip);
  if (!contains(cidr, n)) throw new AddressError(`${formatIPv4(n)} is not in ${formatCidr(cidr)}`);
  return n - cidr.network;
}

/** How many /prefix blocks the block splits into. */
export function subnetCount(c: Cidr | string, prefix: number): number {
  const cidr = asCidr(c);
  if (!Number.isInteger(prefix) || prefix < cidr.prefix || prefix > 32) throw new AddressError(`cannot cut ${formatCidr(cidr)} into /${prefix}s`);
  return 2 ** (prefix - cidr.prefix);
}

/** The i-th /prefix block inside the block, counting from 0: subnet('10.240.0.0/12', 24, 257) is 10.241.1.0/24. */
export function subnet(c: Cidr | string, prefix: number, i: number): Cidr {
  const cidr = asCidr(c);
  const count = subnetCount(cidr, prefix);
  if (!Number.isInteger(i) || i < 0 || i >= count) throw new AddressError(`subnet ${i} is outside ${formatCidr(cidr)} cut into /${prefix}s (${count} of them)`);
  const network = cidr.network + i * 2 ** (32 - prefix);
  return { address: network, network, prefix };
}
