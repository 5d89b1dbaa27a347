import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import dnsPacket, { type DecodedPacket as WireReply, type Packet } from 'dns-packet';

/** A decoded reply; dns-packet decodes the rcode but its types do not declare it. */
type DecodedPacket = WireReply & { rcode?: string };
import { DnsIndex } from './core/dns-index.js';
import { Forwarder, chooseUpstreams, parseResolvConf } from './forward.js';
import { Responder } from './responder.js';
import { startServer, type RunningServer } from './server.js';
import { loopbackListeners } from './testing/loopback.js';

const exec = promisify(execFile);
const hasDig = ['/usr/bin/dig', '/bin/dig', '/usr/local/bin/dig'].some(existsSync);

function fixture(): DnsIndex {
  const x = new DnsIndex();
  x.upsertNamespace({ metadata: { name: 'default' } });
  x.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.5.5', ports: [{ name: 'http', port: 80 }] } });
  x.upsertService({ metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
  // 60 ready endpoints: ~3 KB of A records, too much for 512 bytes of UDP.
  x.upsertService({ metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None' } });
  x.upsertSlice({
    metadata: { name: 'big-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.244.7.${i + 1}`], conditions: { ready: true } })),
  });
  return x;
}

let nextId = 1;
const query = (
  name: string,
  type: Packet['questions'] extends (infer Q)[] | undefined ? (Q extends { type: infer T } ? T : never) : never = 'A',
  edns?: number,
): Buffer =>
  dnsPacket.encode({
    type: 'query',
    id: nextId++ & 0xffff,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    ...(edns
      ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] }
      : {}),
  });

function udpAsk(port: number, msg: Buffer, timeoutMs = 3000): Promise<DecodedPacket | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(msg, port, '127.0.0.1');
  });
}

function tcpAsk(port: number, msgs: Buffer[]): Promise<DecodedPacket[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const out: DecodedPacket[] = [];
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    // All messages in one write: the server must split the frames.
    sock.on('connect', () => sock.write(Buffer.concat(msgs.map((m) => dnsPacket.streamEncode(dnsPacket.decode(m))))));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === msgs.length) {
        sock.end();
        resolve(out);
      }
    });
  });
}

const data = (p: DecodedPacket | undefined) => (p?.answers ?? []).map((a) => ('data' in a && typeof a.data === 'string' ? a.data : ''));

/** A fake upstream resolver on loopback: answers every A question with 192.0.2.1, over UDP and TCP. */
async function fakeUpstream(): Promise<{ port: number; asked: string[]; close: () => void }> {
  const asked: string[] = [];
  const reply = (m: Buffer) => {
    const q = dnsPacket.decode(m);
    asked.push(q.questions?.[0]?.name ?? '');
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions,
      answers: [{ type: 'A', name: q.questions?.[0]?.name ?? '', ttl: 60, data: '192.0.2.1' }],
    });
  };
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  udp.on('message', (m, rinfo) => udp.send(reply(m), rinfo.port, rinfo.address));
  const tcp = net.createServer((sock) => sock.on('data', (d: Buffer) => sock.write(dnsPacket.streamEncode(dnsPacket.decode(reply(d.subarray(2)))))));
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  return { port, asked, close: () => (udp.close(), tcp.close()) };
}

describe('the DNS server over real sockets', () => {
  let server: RunningServer;
  let index: DnsIndex;
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let synced = false;

  beforeAll(async () => {
    index = fixture();
    upstream = await fakeUpstream();
    server = await startServer(index, {
      ...loopbackListeners(),
      synced: () => synced,
      forwarder: new Forwarder([{ host: '127.0.0.1', port: upstream.port }], 1000),
    });
  });
  afterAll(async () => {
    await server?.stop();
    upstream?.close();
  });

  it('/ready says 503 until the informers synced, then 200; /health is always 200', async () => {
    expect((await fetch(`http://127.0.0.1:${server.readyPort}/ready`)).status).toBe(503);
    expect((await udpAsk(server.port, query('missing.default.svc.cluster.local')))?.rcode).toBe('SERVFAIL');
    synced = true;
    expect((await fetch(`http://127.0.0.1:${server.readyPort}/ready`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.healthPort}/health`)).status).toBe(200);
  });

  it('answers over UDP, authoritative, with the question as asked', async () => {
    const r = await udpAsk(server.port, query('Web.Default.svc.cluster.local'));
    expect(r?.rcode).toBe('NOERROR');
    expect(r?.flag_aa).toBe(true);
    expect(r?.flag_rd).toBe(true);
    expect(r?.questions?.[0]?.name).toBe('Web.Default.svc.cluster.local');
    expect(data(r)).toEqual(['10.96.5.5']);
    const nx = await udpAsk(server.port, query('missing.default.svc.cluster.local'));
    expect(nx?.rcode).toBe('NXDOMAIN');
    expect(nx?.authorities?.[0]?.type).toBe('SOA');
  });

  it('answers several framed messages on one TCP connection', async () => {
    const [a, b] = await tcpAsk(server.port, [query('web.default.svc.cluster.local'), query('_http._tcp.web.default.svc.cluster.local', 'SRV')]);
    expect(data(a)).toEqual(['10.96.5.5']);
    expect(b?.answers?.[0]).toMatchObject({ type: 'SRV', data: { port: 80, target: 'web.default.svc.cluster.local' } });
  });

  it('sets TC when the answer exceeds 512 bytes over UDP; EDNS0 raises the limit; TCP carries all of it', async () => {
    const small = await udpAsk(server.port, query('big.default.svc.cluster.local'));
    expect(small?.flag_tc).toBe(true);
    expect(small?.answers).toEqual([]);
    const edns = await udpAsk(server.port, query('big.default.svc.cluster.local', 'A', 4096));
    expect(edns?.flag_tc).toBe(false);
    expect(edns?.answers).toHaveLength(60);
    const [tcp] = await tcpAsk(server.port, [query('big.default.svc.cluster.local')]);
    expect(tcp?.flag_tc).toBe(false);
    expect(tcp?.answers).toHaveLength(60);
  });

  it('a new service answers at once (no stale cached NXDOMAIN)', async () => {
    expect((await udpAsk(server.port, query('late.default.svc.cluster.local')))?.rcode).toBe('NXDOMAIN');
    index.upsertService({ metadata: { name: 'late', namespace: 'default' }, spec: { clusterIP: '10.96.9.9', ports: [{ port: 80 }] } });
    expect(data(await udpAsk(server.port, query('late.default.svc.cluster.local')))).toEqual(['10.96.9.9']);
  });

  it('forwards names outside the cluster upstream, over UDP and TCP, and follows ExternalNames there', async () => {
    const r = await udpAsk(server.port, query('example.org'));
    expect(data(r)).toEqual(['192.0.2.1']);
    const [t] = await tcpAsk(server.port, [query('example.net')]);
    expect(data(t)).toEqual(['192.0.2.1']);
    const ext = await udpAsk(server.port, query('ext.default.svc.cluster.local'));
    expect(data(ext)).toEqual(['example.com', '192.0.2.1']);
    expect(upstream.asked).toEqual(expect.arrayContaining(['example.org', 'example.net', 'example.com']));
  });

  it('drops garbage without harm and keeps answering', async () => {
    const s = dgram.createSocket('udp4');
    for (const junk of [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(600, 0xff), query('web.default.svc.cluster.local').subarray(0, 20)]) {
      await new Promise<void>((r) => s.send(junk, server.port, '127.0.0.1', () => r()));
    }
    s.close();
    const sock = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((r) => sock.on('connect', () => r()));
    sock.write(Buffer.from([0, 5, 1, 2, 3, 4, 5, 0xff, 0xff]));
    sock.destroy();
    expect(data(await udpAsk(server.port, query('web.default.svc.cluster.local')))).toEqual(['10.96.5.5']);
  });

  it("serves CoreDNS's metrics", async () => {
    const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    expect(text).toMatch(/coredns_dns_requests_total\{server="dns:\/\/:\d+",zone="cluster.local.",view="",proto="udp",family="1",type="A"\} \d+/);
    expect(text).toMatch(/coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN"[^}]*\} \d+/);
    expect(text).toMatch(/coredns_dns_request_duration_seconds_bucket\{[^}]*le="0.00025"[^}]*\} \d+/);
    expect(text).toMatch(/zone="\.",[^}]*\} \d+/);
  });

  it.skipIf(!hasDig)('dig: A, SRV, PTR, and the fall back to TCP on truncation', async () => {
    const dig = async (...args: string[]) =>
      (await exec('dig', ['@127.0.0.1', '-p', String(server.port), '+time=2', '+tries=1', ...args])).stdout.trim().split('\n').filter(Boolean);
    expect(await dig('+short', 'web.default.svc.cluster.local')).toEqual(['10.96.5.5']);
    expect(await dig('+short', 'SRV', '_http._tcp.web.default.svc.cluster.local')).toEqual(['0 100 80 web.default.svc.cluster.local.']);
    expect(await dig('+short', '-x', '10.96.5.5')).toEqual(['web.default.svc.cluster.local.']);
    // Without EDNS the answer does not fit in 512 bytes: dig sees TC and asks again over TCP.
    expect(await dig('+short', '+noedns', 'big.default.svc.cluster.local')).toHaveLength(60);
    const full = (await dig('+noedns', 'big.default.svc.cluster.local')).join('\n');
    expect(full).toMatch(/Truncated, retrying in TCP mode/);
  });
});

describe('forwarding without a usable upstream', () => {
  it('answers SERVFAIL at once when there is none, and after the timeout when it does not answer', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const none = await startServer(fixture(), loopbackListeners());
    const mute = await startServer(fixture(), {
      ...loopbackListeners(),
      forwarder: new Forwarder([{ host: '127.0.0.1', port: silent.address().port }], 100),
    });
    try {
      expect((await udpAsk(none.port, query('example.org')))?.rcode).toBe('SERVFAIL');
      expect((await udpAsk(mute.port, query('example.org')))?.rcode).toBe('SERVFAIL');
      // ExternalName without an upstream: the CNAME alone.
      expect(data(await udpAsk(none.port, query('ext.default.svc.cluster.local')))).toEqual(['example.com']);
    } finally {
      await none.stop();
      await mute.stop();
      silent.close();
    }
  });
});

describe('malformed input (fuzz)', () => {
  it('random bytes and mutated queries never throw out of the handler, and what is answered decodes', () => {
    const r = new Responder(fixture(), { synced: () => true });
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const base = [
      query('web.default.svc.cluster.local'),
      query('big.default.svc.cluster.local', 'A', 4096),
      query('_http._tcp.web.default.svc.cluster.local', 'SRV'),
    ];
    const thrown: string[] = [];
    let replies = 0;
    for (let i = 0; i < 20_000; i++) {
      let msg: Buffer;
      if (i % 2) {
        msg = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
      } else {
        msg = Buffer.from(base[i % base.length]);
        for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) msg[Math.floor(rand() * msg.length)] = Math.floor(rand() * 256);
      }
      try {
        const out = r.handle(msg, i % 3 ? 'udp' : 'tcp');
        // Whatever is sent back is a well-formed reply to that message.
        if (out.kind === 'reply') {
          const back = dnsPacket.decode(out.bytes);
          if (!back.flag_qr || back.id !== msg.readUInt16BE(0)) thrown.push(`${msg.toString('hex')}: bad reply ${out.bytes.toString('hex')}`);
          replies++;
        }
      } catch (e) {
        thrown.push(`${msg.toString('hex')}: ${String(e)}`);
      }
    }
    expect(thrown).toEqual([]);
    expect(replies).toBeGreaterThan(1000);
    expect(r.handle(query('web.default.svc.cluster.local'), 'udp').kind).toBe('reply');
  });

  it('replies, and queries with an opcode other than QUERY, are not answered as queries', () => {
    const r = new Responder(fixture(), { synced: () => true });
    const resp = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'web.default.svc.cluster.local' }] });
    expect(r.handle(resp, 'udp').kind).toBe('drop');
    const notify = Buffer.from(query('web.default.svc.cluster.local'));
    notify[2] = (notify[2] & 0x87) | (4 << 3);
    const out = r.handle(notify, 'udp');
    expect(out.kind === 'reply' && out.rcode).toBe('NOTIMP');
  });
});

describe('upstreams from resolv.conf', () => {
  it('reads nameservers and leaves out those that are this server', () => {
    const conf =
      'search default.svc.cluster.local\nnameserver 10.96.0.10\nnameserver 127.0.0.53\n# nameserver 9.9.9.9\nnameserver 172.28.0.1\nnameserver fe80::1%eth0\noptions ndots:5\n';
    const ns = parseResolvConf(conf);
    expect(ns).toEqual(['10.96.0.10', '127.0.0.53', '172.28.0.1']);
    const self = { port: 53, addresses: ['127.0.0.1', '::1', '10.244.1.9'], skip: ['10.96.0.10'] };
    expect(chooseUpstreams(ns, self)).toEqual([{ host: '172.28.0.1', port: 53 }]);
    expect(chooseUpstreams(['10.244.1.9', '192.0.2.53'], self)).toEqual([{ host: '192.0.2.53', port: 53 }]);
    // On another port, a resolver on loopback is not us.
    expect(chooseUpstreams(['127.0.0.53'], { ...self, port: 8053 })).toEqual([{ host: '127.0.0.53', port: 53 }]);
  });
});
