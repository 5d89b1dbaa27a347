/**
 * The server side of SPDY/3.1 as Kubernetes' port-forward speaks it
 * (moby/spdystream on the client): SYN_STREAM opens a stream with plain
 * headers (streamtype, port, requestid), the server answers SYN_REPLY, data
 * flows in DATA frames, FIN half-closes, RST_STREAM aborts, PING is echoed.
 * Header blocks are zlib-compressed with the SPDY/3 dictionary, one zlib
 * context per direction for the whole session. Transport-agnostic: bytes
 * come in through feed() (a socket or WebSocket binary messages) and go out
 * through the write function. Flow control is not enforced: spdystream
 * sends no WINDOW_UPDATEs either.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';

import { SPDY3_DICTIONARY as DICTIONARY } from './spdy-dictionary.js';

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 1;

export class SpdyProtocolError extends Error {}

export class SpdyStream extends Duplex {
  private remoteClosed = false;
  constructor(
    readonly id: number,
    readonly headers: Record<string, string>,
    private session: SpdySession,
  ) {
    super({ allowHalfOpen: true });
  }

  reply(): void {
    this.session.sendHeaders(SYN_REPLY, this.id, {});
  }

  _read(): void {}

  _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false);
    cb();
  }

  _final(cb: (e?: Error | null) => void): void {
    this.session.sendData(this.id, Buffer.alloc(0), true);
    cb();
  }

  /** From the peer. */
  push_(data: Buffer, fin: boolean): void {
    if (data.length) this.push(data);
    if (fin && !this.remoteClosed) {
      this.remoteClosed = true;
      this.push(null);
    }
  }

  reset(): void {
    this.session.sendRst(this.id, 5 /* CANCEL */);
    this.destroy();
  }
}

export class SpdySession extends EventEmitter {
  private buf = Buffer.alloc(0);
  private streams = new Map<number, SpdyStream>();
  private inflate: Inflate = createInflate({ dictionary: DICTIONARY });
  private deflate: Deflate = createDeflate({ dictionary: DICTIONARY });
  private inflated: Buffer[] = [];
  private deflated: Buffer[] = [];
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private write: (b: Buffer) => void) {
    super();
    this.inflate.on('data', (d: Buffer) => this.inflated.push(d));
    this.deflate.on('data', (d: Buffer) => this.deflated.push(d));
    this.inflate.on('error', (e) => this.fail(e));
  }

  /** Incoming bytes (any split). Frames are handled in order. */
  feed(data: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    while (this.buf.length >= 8) {
      const len = this.buf.readUIntBE(5, 3);
      if (this.buf.length < 8 + len) break;
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      this.chain = this.chain.then(() => this.frame(frame)).catch((e) => this.fail(e));
    }
  }

  private fail(e: unknown): void {
    this.emit('error', e);
    this.close();
  }

  private async frame(f: Buffer): Promise<void> {
    if (this.closed) return;
    const flags = f[4];
    const body = f.subarray(8);
    if (!(f[0] & 0x80)) {
      const s = this.streams.get(f.readUInt32BE(0) & 0x7fffffff);
      s?.push_(Buffer.from(body), !!(flags & FLAG_FIN));
      return;
    }
    const type = f.readUInt16BE(2);
    if (type === SYN_STREAM) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      const headers = parseHeaders(await this.inflateBlock(body.subarray(10)));
      const s = new SpdyStream(id, headers, this);
      this.streams.set(id, s);
      s.on('close', () => this.streams.delete(id));
      this.emit('stream', s);
      if (flags & FLAG_FIN) s.push_(Buffer.alloc(0), true);
    } else if (type === RST_STREAM) {
      const s = this.streams.get(body.readUInt32BE(0) & 0x7fffffff);
      s?.destroy();
    } else if (type === PING) {
      this.write(Buffer.from(f)); // the same frame back
    } else if (type === GOAWAY) {
      this.close();
    } else if (type === 8 /* HEADERS */) {
      await this.inflateBlock(body.subarray(4)); // keep the zlib context in step
    }
    // SETTINGS, WINDOW_UPDATE: nothing to do.
  }

  private inflateBlock(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.inflate.write(block, (e) => {
        if (e) return reject(e);
        this.inflate.flush(constants.Z_SYNC_FLUSH, () => {
          const out = Buffer.concat(this.inflated);
          this.inflated = [];
          resolve(out);
        });
      });
    });
  }

  sendHeaders(type: number, id: number, headers: Record<string, string>): void {
    const raw = encodeHeaders(headers);
    this.chain = this.chain.then(
      () =>
        new Promise<void>((resolve) => {
          this.deflate.write(raw);
          this.deflate.flush(constants.Z_SYNC_FLUSH, () => {
            const block = Buffer.concat(this.deflated);
            this.deflated = [];
            const head = Buffer.alloc(4);
            head.writeUInt32BE(id & 0x7fffffff);
            this.control(type, 0, Buffer.concat([head, block]));
            resolve();
          });
        }),
    );
  }

  sendData(id: number, data: Buffer, fin: boolean): void {
    // DATA frames after the SYN_REPLY: go through the same chain so order holds.
    this.chain = this.chain.then(() => {
      for (let off = 0; off < data.length || (off === 0 && fin); off += 0xffffff) {
        const part = data.subarray(off, off + 0xffffff);
        const h = Buffer.alloc(8);
        h.writeUInt32BE(id & 0x7fffffff, 0);
        const last = off + 0xffffff >= data.length;
        h.writeUInt32BE(((fin && last ? FLAG_FIN : 0) << 24) | part.length, 4);
        this.out(Buffer.concat([h, part]));
        if (!data.length) break;
      }
    });
  }

  sendRst(id: number, status: number): void {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(id & 0x7fffffff, 0);
    b.writeUInt32BE(status, 4);
    this.control(RST_STREAM, 0, b);
  }

  private control(type: number, flags: number, body: Buffer): void {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8003, 0); // control bit, version 3
    h.writeUInt16BE(type, 2);
    h.writeUInt32BE((flags << 24) | body.length, 4);
    this.out(Buffer.concat([h, body]));
  }

  private out(b: Buffer): void {
    if (!this.closed) this.write(b);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.inflate.destroy();
    this.deflate.destroy();
    this.emit('close');
  }
}

function parseHeaders(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  if (b.length < 4) return out;
  const n = b.readUInt32BE(0);
  let off = 4;
  for (let i = 0; i < n; i++) {
    if (off + 4 > b.length) throw new SpdyProtocolError('truncated header block');
    const nl = b.readUInt32BE(off);
    const name = b.subarray(off + 4, off + 4 + nl).toString();
    off += 4 + nl;
    const vl = b.readUInt32BE(off);
    const value = b.subarray(off + 4, off + 4 + vl).toString();
    off += 4 + vl;
    out[name.toLowerCase()] = value.split('\0')[0]!;
  }
  return out;
}

function encodeHeaders(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(Object.keys(h).length);
  parts.push(n);
  for (const [k, v] of Object.entries(h)) {
    for (const s of [k.toLowerCase(), v]) {
      const l = Buffer.alloc(4);
      l.writeUInt32BE(Buffer.byteLength(s));
      parts.push(l, Buffer.from(s));
    }
  }
  return Buffer.concat(parts);
}
