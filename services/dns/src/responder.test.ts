import { describe, expect, it } from 'vitest';
import dnsPacket, { type Packet } from 'dns-packet';
import { DnsIndex } from './core/dns-index.js';
import { Responder, type Outcome } from './responder.js';

function index(): DnsIndex {
  const x = new DnsIndex();
  x.upsertNamespace({ metadata: { name: 'default' } });
  x.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.5.5', ports: [{ port: 80 }] } });
  return x;
}

const ask = (id: number, name: string, extra: Partial<Packet> = {}): Buffer =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }], ...extra });

/** The reply's id and A records. */
function read(out: Outcome): { id: number; a: string[]; rcode: string } {
  if (out.kind !== 'reply') throw new Error(`no reply: ${out.kind}`);
  const p = dnsPacket.decode(out.bytes) as ReturnType<typeof dnsPacket.decode> & { rcode?: string };
  return { id: p.id ?? -1, a: (p.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : [])), rcode: p.rcode ?? '' };
}

describe('Responder: a query asked again byte for byte', () => {
  it('gets the same reply under its own ID, and never a reply an earlier caller still holds', () => {
    const r = new Responder(index(), { synced: () => true });
    const first = r.handle(ask(1, 'web.default.svc.cluster.local'), 'udp');
    const second = r.handle(ask(2, 'web.default.svc.cluster.local'), 'udp');
    expect(read(first)).toEqual({ id: 1, a: ['10.96.5.5'], rcode: 'NOERROR' });
    expect(read(second)).toEqual({ id: 2, a: ['10.96.5.5'], rcode: 'NOERROR' });
    // Both replies stay as they were sent (the ID of the second was not written into the first).
    expect(read(first).id).toBe(1);
    expect(second.kind === 'reply' && second.qtype).toBe('A');
  });

  it('is answered afresh once the index changed', () => {
    const x = index();
    const r = new Responder(x, { synced: () => true });
    expect(read(r.handle(ask(1, 'web.default.svc.cluster.local'), 'udp')).a).toEqual(['10.96.5.5']);
    x.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.6.6', ports: [{ port: 80 }] } });
    expect(read(r.handle(ask(2, 'web.default.svc.cluster.local'), 'udp')).a).toEqual(['10.96.6.6']);
    x.deleteService({ metadata: { name: 'web', namespace: 'default' } });
    expect(read(r.handle(ask(3, 'web.default.svc.cluster.local'), 'udp')).rcode).toBe('NXDOMAIN');
  });

  it('keeps nothing while the informers have not listed: the first answer after the sync is a complete one', () => {
    let synced = false;
    const r = new Responder(index(), { synced: () => synced });
    // Not found before the informers listed: SERVFAIL (it may yet come), not NXDOMAIN.
    expect(read(r.handle(ask(1, 'late.default.svc.cluster.local'), 'udp')).rcode).toBe('SERVFAIL');
    synced = true; // nothing else changed: the index's generation is the same
    expect(read(r.handle(ask(2, 'late.default.svc.cluster.local'), 'udp')).rcode).toBe('NXDOMAIN');
  });

  it('over TCP, and with another spelling, is a question of its own', () => {
    const r = new Responder(index(), { synced: () => true });
    const big = ask(1, 'web.default.svc.cluster.local');
    expect(read(r.handle(big, 'udp')).a).toEqual(['10.96.5.5']);
    expect(read(r.handle(ask(2, 'web.default.svc.cluster.local'), 'tcp')).a).toEqual(['10.96.5.5']);
    const upper = r.handle(ask(3, 'WEB.default.svc.cluster.local'), 'udp');
    expect(read(upper).a).toEqual(['10.96.5.5']);
    expect(upper.kind === 'reply' && dnsPacket.decode(upper.bytes).questions?.[0].name).toBe('WEB.default.svc.cluster.local');
  });

  it('a reply to a query that is no query is never kept: the same bytes are dropped again', () => {
    const r = new Responder(index(), { synced: () => true });
    const reply = dnsPacket.encode({
      type: 'response',
      id: 9,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ type: 'A', name: 'web.default.svc.cluster.local' }],
    });
    expect(r.handle(reply, 'udp').kind).toBe('drop');
    expect(r.handle(reply, 'udp').kind).toBe('drop');
  });
});
