/**
 * Name arithmetic of the cluster zone: lowercase keys, the dashed forms of
 * addresses that CoreDNS's kubernetes plugin uses for endpoints and pods,
 * and reverse (PTR) names. Pure.
 */
import { isIP } from 'node:net';

/** A question name as an index key: lowercase, no trailing dot (the root is ''). */
export function keyName(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  // Most names are already lowercase; skip the copy then.
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c >= 65 && c <= 90) return n.toLowerCase();
  }
  return n;
}

/** The eight 16-bit groups of an IPv6 address, each as 4 hex digits. */
function ipv6Groups(ip: string): string[] {
  let head = ip;
  let tail = '';
  const dbl = ip.indexOf('::');
  if (dbl >= 0) {
    head = ip.slice(0, dbl);
    tail = ip.slice(dbl + 2);
  }
  const parse = (s: string): string[] => {
    if (!s) return [];
    const out: string[] = [];
    for (const part of s.split(':')) {
      if (part.includes('.')) {
        // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
        const [a, b, c, d] = part.split('.').map(Number);
        out.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
      } else out.push(part);
    }
    return out;
  };
  const h = parse(head);
  const t = parse(tail);
  const fill = dbl >= 0 ? Array<string>(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0').toLowerCase());
}

/** The in-addr.arpa / ip6.arpa name of an address (undefined for anything else). */
export function reverseName(ip: string): string | undefined {
  const v = isIP(ip);
  if (v === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  if (v === 6) return `${[...ipv6Groups(ip).join('')].reverse().join('.')}.ip6.arpa`;
  return undefined;
}

/**
 * The label CoreDNS gives an endpoint without a hostname, and a pod: the
 * address with dots (IPv4) or colons (IPv6) as dashes.
 */
export function dashed(ip: string): string {
  return ip.includes(':') ? ip.toLowerCase().replaceAll(':', '-') : ip.replaceAll('.', '-');
}

/**
 * A pod label back into an address, as CoreDNS's insecure pod mode reads it:
 * three dashes and no "--" is IPv4, anything else is IPv6. Undefined when the
 * result is no address.
 */
export function undashed(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  const ip = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return isIP(ip) ? ip : undefined;
}

/** Whether `name` (a key) is `zone` or below it. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46);
}
