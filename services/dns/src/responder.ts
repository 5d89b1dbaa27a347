/**
 * Bytes in, bytes out: decode a query with dns-packet, answer it from the
 * index, encode the reply, truncate it (TC) when it exceeds what the client
 * can take over UDP (512 bytes, or its EDNS0 size). Replies are encoded once
 * and kept, keyed by lowercase name, type, class and EDNS, until the index
 * changes: a repeated question costs a decode, a map lookup and a copy.
 * A query whose bytes (all but its ID) came before costs less still: the
 * reply it got is kept by those bytes, and only the ID is written in.
 * Anything that does not decode as a query is dropped.
 */
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet } from 'dns-packet';
import { answer, type Rcode, type Reply } from './core/answer.js';
import type { DnsIndex } from './core/dns-index.js';
import { keyName } from './core/names.js';

export type Transport = 'udp' | 'tcp';

const RCODE: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const QR = 1 << 15;
const AA = dnsPacket.AUTHORITATIVE_ANSWER;
const TC = dnsPacket.TRUNCATED_RESPONSE;
const RD = dnsPacket.RECURSION_DESIRED;
const RA = dnsPacket.RECURSION_AVAILABLE;
/** The most we accept from an EDNS0 client over UDP, and advertise. */
export const MAX_UDP = 4096;
const CACHE_LIMIT = 10_000;
/** Longer queries (EDNS options) are rarely asked twice byte for byte: not kept by their bytes. */
const RAW_KEY_LIMIT = 300;
const PRINTABLE = /^[\x21-\x7e]{0,253}$/;

/** A reply to send. */
type Answered = { kind: 'reply'; bytes: Buffer; rcode: Rcode; qtype: string; zone: 'cluster' | 'forward' };
/** What became of one message. */
export type Outcome =
  | { kind: 'drop' }
  | Answered
  /** Outside the zone: the server asks upstream (and answers SERVFAIL if that fails). */
  | { kind: 'forward'; query: DecodedPacket; qtype: string }
  /** An ExternalName outside the zone: the server may append the target's records from upstream. */
  | { kind: 'chase'; query: DecodedPacket; reply: Reply; qtype: string };

export interface ResponderOptions {
  /** Whether the informers have listed everything yet. */
  synced: () => boolean;
}

function optOf(q: Packet): OptAnswer | undefined {
  return q.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
}

const responseOpt = (): OptAnswer => ({
  type: 'OPT',
  name: '.',
  udpPayloadSize: MAX_UDP,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: 0,
  flag_do: false,
  options: [],
});

/** The reply to `query` carrying `r`, encoded. */
export function encodeReply(query: DecodedPacket, r: Pick<Reply, 'rcode' | 'authoritative' | 'answers' | 'authorities' | 'additionals'>): Buffer {
  const additionals: Answer[] = [...r.additionals];
  if (optOf(query)) additionals.push(responseOpt());
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: (r.authoritative ? AA : 0) | ((query.flags ?? 0) & RD) | RA | RCODE[r.rcode],
    questions: query.questions,
    answers: r.answers,
    authorities: r.authorities,
    additionals,
  });
}

/** A bare reply with only an rcode (SERVFAIL after a failed forward, FORMERR, NOTIMP). */
export function errorReply(query: DecodedPacket, rcode: Rcode): Buffer {
  return encodeReply(query, { rcode, authoritative: false, answers: [], authorities: [], additionals: [] });
}

/** The largest reply the client takes over this transport. */
export function sizeLimit(query: Packet, transport: Transport): number {
  if (transport === 'tcp') return 65535;
  const opt = optOf(query);
  return opt ? Math.min(Math.max(opt.udpPayloadSize, 512), MAX_UDP) : 512;
}

/** Header and question only, with TC set: the client asks again over TCP. */
export function truncate(query: DecodedPacket, full: Buffer): Buffer {
  const flags = full.readUInt16BE(2);
  const additionals: Answer[] = optOf(query) ? [responseOpt()] : [];
  const out = dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags: (flags & ~QR) | TC, questions: query.questions, additionals });
  return out;
}

/**
 * Whether the header's section counts could fit in the message at all (a
 * question takes at least 5 bytes, a record 11). dns-packet sizes its arrays
 * from the counts before reading anything, so a 12-byte header claiming 65535
 * records would cost a millisecond of allocation: such a packet is refused first.
 */
function countsFit(msg: Buffer): boolean {
  const records = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  return msg.readUInt16BE(4) * 5 + records * 11 <= msg.length - 12;
}

export class Responder {
  private cache = new Map<string, { bytes: Buffer; rcode: Rcode }>();
  /** Final replies by transport and the query's bytes after its ID. */
  private raw = new Map<string, Answered>();
  private generation = -1;

  constructor(
    private index: DnsIndex,
    private o: ResponderOptions,
  ) {}

  /** Never throws: whatever goes wrong with one message drops that message. */
  handle(msg: Buffer, transport: Transport): Outcome {
    try {
      if (this.generation !== this.index.generation) {
        this.cache.clear();
        this.raw.clear();
        this.generation = this.index.generation;
      }
      // The reply depends on nothing but these bytes, the transport and the index (while synced), so the same bytes get
      // the same reply; a query that is no query never gets one, so it is never kept.
      const key = msg.length >= 12 && msg.length <= RAW_KEY_LIMIT ? `${transport}${msg.toString('latin1', 2)}` : undefined;
      const hit = key === undefined ? undefined : this.raw.get(key);
      if (hit) {
        const bytes = Buffer.allocUnsafe(hit.bytes.length);
        hit.bytes.copy(bytes);
        msg.copy(bytes, 0, 0, 2);
        return { ...hit, bytes };
      }
      const out = this.handleUnsafe(msg, transport);
      if (key !== undefined && out.kind === 'reply' && this.o.synced()) {
        if (this.raw.size >= CACHE_LIMIT) this.raw.clear();
        this.raw.set(key, out);
      }
      return out;
    } catch {
      return { kind: 'drop' };
    }
  }

  private handleUnsafe(msg: Buffer, transport: Transport): Outcome {
    let query: DecodedPacket;
    try {
      if (msg.length < 12 || !countsFit(msg)) return { kind: 'drop' };
      query = dnsPacket.decode(msg);
    } catch {
      return { kind: 'drop' };
    }
    // Replies (and anything claiming to be one) are never answered: no loops, no reflection.
    if (query.flag_qr) return { kind: 'drop' };
    const opcode = ((query.flags ?? 0) >> 11) & 0xf;
    const q = query.questions?.[0];
    if (opcode !== 0) return this.bare(query, 'NOTIMP', transport);
    if (!q || query.questions!.length !== 1) return this.bare(query, 'FORMERR', transport);
    // dns-packet reads labels as UTF-8; a name that would not encode back to the same bytes is not worth answering.
    if (!PRINTABLE.test(q.name)) return { kind: 'drop' };

    const lower = keyName(q.name);
    const edns = optOf(query) !== undefined;
    const key = `${lower}\0${q.type}\0${q.class ?? 'IN'}${edns ? '\0e' : ''}`;
    const synced = this.o.synced();
    // The cache holds replies to lowercase questions; a question spelled otherwise is answered afresh, in its spelling.
    const cacheable = synced && lower === q.name;
    const hit = cacheable ? this.cache.get(key) : undefined;
    if (hit) {
      const bytes = Buffer.from(hit.bytes);
      bytes.writeUInt16BE(query.id ?? 0, 0);
      bytes[2] = (bytes[2] & ~(RD >> 8)) | (((query.flags ?? 0) & RD) >> 8);
      return this.fit(query, bytes, hit.rcode, q.type, transport);
    }

    const r = answer(this.index, q, synced);
    if (r.forward) return { kind: 'forward', query, qtype: q.type };
    if (r.chase) return { kind: 'chase', query, reply: r, qtype: q.type };
    const bytes = encodeReply(query, r);
    if (cacheable) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, { bytes, rcode: r.rcode });
    }
    return this.fit(query, bytes, r.rcode, q.type, transport);
  }

  private bare(query: DecodedPacket, rcode: Rcode, transport: Transport): Outcome {
    try {
      return this.fit(query, errorReply(query, rcode), rcode, query.questions?.[0]?.type ?? 'other', transport);
    } catch {
      return { kind: 'drop' };
    }
  }

  private fit(query: DecodedPacket, bytes: Buffer, rcode: Rcode, qtype: string, transport: Transport): Outcome {
    const out = bytes.length > sizeLimit(query, transport) ? truncate(query, bytes) : bytes;
    return { kind: 'reply', bytes: out, rcode, qtype, zone: 'cluster' };
  }
}
