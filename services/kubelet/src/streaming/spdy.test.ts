import { deflateSync, inflateSync, constants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { SpdySession, type SpdyStream } from './spdy.js';
import { SPDY3_DICTIONARY as DICT } from './spdy-dictionary.js';

describe('the SPDY/3 dictionary', () => {
  it('is the specification constant, byte for byte (its length and digest)', () => {
    expect(DICT.length).toBe(1423);
    expect(createHash('sha256').update(DICT).digest('hex')).toBe('51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });
});

function headerBlock(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0].writeUInt32BE(Object.keys(h).length);
  for (const [k, v] of Object.entries(h))
    for (const s of [k, v]) {
      const l = Buffer.alloc(4);
      l.writeUInt32BE(s.length);
      parts.push(l, Buffer.from(s));
    }
  return deflateSync(Buffer.concat(parts), { dictionary: DICT, finishFlush: constants.Z_SYNC_FLUSH });
}

function control(type: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE((flags << 24) | body.length, 4);
  return Buffer.concat([h, body]);
}

function synStream(id: number, headers: Record<string, string>): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32BE(id, 0);
  return control(1, 0, Buffer.concat([head, headerBlock(headers)]));
}

function data(id: number, payload: string, fin = false): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id, 0);
  h.writeUInt32BE(((fin ? 1 : 0) << 24) | payload.length, 4);
  return Buffer.concat([h, Buffer.from(payload)]);
}

describe('SPDY/3.1 session (port-forward server side)', () => {
  it('opens streams with their headers, replies, carries data both ways, echoes pings', async () => {
    const out: Buffer[] = [];
    const s = new SpdySession((b) => out.push(b));
    const streams: SpdyStream[] = [];
    s.on('stream', (st: SpdyStream) => {
      streams.push(st);
      st.reply();
    });
    // Split across feeds at odd places, as a socket would.
    const bytes = Buffer.concat([
      synStream(1, { streamtype: 'data', port: '80', requestid: '0' }),
      data(1, 'hello', true),
      control(6, 0, Buffer.from([0, 0, 0, 7])),
    ]);
    s.feed(bytes.subarray(0, 5));
    s.feed(bytes.subarray(5, 23));
    s.feed(bytes.subarray(23));
    const got = await new Promise<string>((resolve) => {
      const check = () => (streams[0] ? streams[0].once('data', (d: Buffer) => resolve(d.toString())) : setTimeout(check, 5));
      check();
    });
    expect(streams[0].headers).toEqual({ streamtype: 'data', port: '80', requestid: '0' });
    expect(got).toBe('hello');
    streams[0].end('world');
    await new Promise((r) => setTimeout(r, 20));
    const all = Buffer.concat(out);
    // PING echoed, SYN_REPLY (type 2) for stream 1 with a header block that inflates to zero headers, then DATA + FIN.
    const frames: { control: boolean; type?: number; id: number; flags: number; body: Buffer }[] = [];
    for (let off = 0; off < all.length;) {
      const len = all.readUIntBE(off + 5, 3);
      const f = all.subarray(off, off + 8 + len);
      const isControl = !!(f[0] & 0x80);
      frames.push({
        control: isControl,
        type: isControl ? f.readUInt16BE(2) : undefined,
        id: isControl ? f.readUInt32BE(8) & 0x7fffffff : f.readUInt32BE(0),
        flags: f[4],
        body: f.subarray(8),
      });
      off += 8 + len;
    }
    const reply = frames.find((f) => f.type === 2)!;
    expect(reply.id).toBe(1);
    expect(inflateSync(reply.body.subarray(4), { dictionary: DICT, finishFlush: constants.Z_SYNC_FLUSH }).readUInt32BE(0)).toBe(0);
    expect(frames.some((f) => f.type === 6)).toBe(true);
    const dataFrames = frames.filter((f) => !f.control && f.id === 1);
    expect(Buffer.concat(dataFrames.map((f) => f.body)).toString()).toBe('world');
    expect(dataFrames.at(-1)!.flags & 1).toBe(1);
    s.close();
  });
});
