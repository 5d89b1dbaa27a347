/**
 * One question against the index → the reply CoreDNS's kubernetes plugin
 * would give: records of the asked type; NOERROR with no answer (NODATA)
 * when the name exists without them and NXDOMAIN when it does not, both with
 * the zone's SOA as authority; a CNAME for an ExternalName whatever the type
 * (followed when its target is in the zone); reverse names it does not know
 * and every name outside the zone left to the upstream resolvers. Pure.
 */
import type { Answer, SrvAnswer } from 'dns-packet';
import type { DnsIndex } from './dns-index.js';
import { inZone, keyName, undashed } from './names.js';
import type { NameData } from './records.js';

export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

export interface Reply {
  rcode: Rcode;
  /** Set for names of the cluster zone (and the reverse names we know). */
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** Not ours: to be asked of the upstream resolvers. */
  forward?: boolean;
  /** An ExternalName's target outside the zone: its records may be appended by asking upstream. */
  chase?: string;
}

export interface Question {
  name: string;
  /** dns-packet's type names (A, AAAA, SRV, ...; UNKNOWN_<n> for others). */
  type: string;
  class?: string;
}

const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'];

function reply(rcode: Rcode, authoritative = false): Reply {
  return { rcode, authoritative, answers: [], authorities: [], additionals: [] };
}

function soa(index: DnsIndex, zone: string): Answer {
  const { ttl } = index.options;
  return {
    type: 'SOA',
    name: zone,
    ttl: Math.min(ttl, 300),
    data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: index.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

/** The records of one name for one type, owner `owner` (the question's spelling). */
function records(index: DnsIndex, d: NameData, owner: string, type: string, out: Reply): void {
  const ttl = index.options.ttl;
  const all = type === 'ANY';
  if (all || type === 'A') for (const ip of d.a) out.answers.push({ type: 'A', name: owner, ttl, data: ip });
  if (all || type === 'AAAA') for (const ip of d.aaaa) out.answers.push({ type: 'AAAA', name: owner, ttl, data: ip });
  if (all || type === 'PTR') for (const p of d.ptr) out.answers.push({ type: 'PTR', name: owner, ttl, data: p });
  if (all || type === 'TXT') for (const t of d.txt) out.answers.push({ type: 'TXT', name: owner, ttl, data: t });
  if ((all || type === 'SRV') && d.srv.length) {
    // CoreDNS shares a weight of 100 among the records of one priority.
    const weight = Math.floor(100 / d.srv.length);
    const glue = new Set<string>();
    for (const s of d.srv) {
      out.answers.push({ type: 'SRV', name: owner, ttl, data: { priority: 0, weight, port: s.port, target: s.target } } satisfies SrvAnswer);
      if (glue.has(s.target)) continue;
      glue.add(s.target);
      const t = index.lookup(s.target);
      for (const ip of t?.a ?? []) out.additionals.push({ type: 'A', name: s.target, ttl, data: ip });
      for (const ip of t?.aaaa ?? []) out.additionals.push({ type: 'AAAA', name: s.target, ttl, data: ip });
    }
  }
}

/**
 * Answer one question. `synced` false (the informers have not listed yet)
 * turns what would be NXDOMAIN into SERVFAIL, as CoreDNS does, so no client
 * caches a name as missing because this server just started.
 */
export function answer(index: DnsIndex, q: Question, synced = true): Reply {
  const cls = q.class ?? 'IN';
  if (cls !== 'IN' && cls !== 'ANY') return reply('REFUSED');
  if (q.type === 'AXFR' || q.type === 'IXFR') return reply('REFUSED');
  const name = keyName(q.name);
  const owner = q.name.endsWith('.') ? q.name.slice(0, -1) : q.name;
  const { zone, podMode, ttl } = index.options;

  const reverseZone = REVERSE_ZONES.find((z) => inZone(name, z));
  if (!inZone(name, zone) && !reverseZone) return { ...reply('NOERROR'), forward: true };

  let d = index.lookup(name);
  if (!d && podMode === 'insecure') d = insecurePod(index, name);
  if (!d) {
    // A reverse name we do not know falls through to the upstream resolvers (CoreDNS's `fallthrough in-addr.arpa ip6.arpa`).
    if (reverseZone) return { ...reply('NOERROR'), forward: true };
    if (!synced) return reply('SERVFAIL');
    const r = reply('NXDOMAIN', true);
    r.authorities.push(soa(index, zone));
    return r;
  }

  const r = reply('NOERROR', true);
  if (d.cname) {
    // A CNAME owns its name alone: every type gets it, and A/AAAA follow it.
    r.answers.push({ type: 'CNAME', name: owner, ttl, data: d.cname });
    if (q.type === 'A' || q.type === 'AAAA') {
      const target = keyName(d.cname);
      const t = inZone(target, zone) ? index.lookup(target) : undefined;
      if (t) records(index, t, d.cname, q.type, r);
      else if (!inZone(target, zone)) r.chase = d.cname;
    }
    return r;
  }
  if (name === zone && (q.type === 'SOA' || q.type === 'ANY')) r.answers.push(soa(index, zone));
  if (name === zone && (q.type === 'NS' || q.type === 'ANY')) {
    r.answers.push({ type: 'NS', name: owner, ttl, data: `ns.dns.${zone}` });
    const dns = index.lookup(`kube-dns.kube-system.svc.${zone}`);
    for (const ip of dns?.a ?? []) r.additionals.push({ type: 'A', name: `ns.dns.${zone}`, ttl, data: ip });
  }
  records(index, d, owner, q.type, r);
  if (!r.answers.length) r.authorities.push(soa(index, reverseZone ?? zone));
  return r;
}

/** CoreDNS's `pods insecure`: any address-shaped label in an existing namespace answers with that address. */
function insecurePod(index: DnsIndex, name: string): NameData | undefined {
  const labels = name.split('.');
  const zoneLabels = index.options.zone.split('.').length;
  if (labels.length !== zoneLabels + 3 || labels[2] !== 'pod' || !index.hasNamespace(labels[1])) return undefined;
  const ip = undashed(labels[0]);
  if (!ip) return undefined;
  return { a: ip.includes(':') ? [] : [ip], aaaa: ip.includes(':') ? [ip] : [], srv: [], ptr: [], txt: [] };
}
