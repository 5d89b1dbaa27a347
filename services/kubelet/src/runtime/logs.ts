/**
 * Container logs, in the CRI format the real kubelet writes
 * (`<RFC3339Nano> stdout|stderr F|P <text>`), one file per start
 * of a container. A LogPump reads a container's output FIFOs, writes the file and
 * tells live listeners (logs -f, attach). Reading a log back for
 * `kubectl logs` (tail, since, timestamps, limit) is pure.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { formatNanoTime } from '@kemu/api';
import { openFifo } from './container.js';

export type StreamName = 'stdout' | 'stderr';

export interface LogEntry {
  time: string;
  stream: StreamName;
  /** A partial line (the rest follows in the next entry). */
  partial: boolean;
  text: string;
}

/** Nanosecond RFC 3339, as CRI logs have it. */
export function nanoTime(d = new Date()): string {
  return formatNanoTime(d);
}

export function formatEntry(e: LogEntry): string {
  return `${e.time} ${e.stream} ${e.partial ? 'P' : 'F'} ${e.text}\n`;
}

export function parseLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(line);
    if (m) out.push({ time: m[1], stream: m[2] as StreamName, partial: m[3] === 'P', text: m[4] });
  }
  return out;
}

export interface LogOptions {
  timestamps?: boolean;
  tailLines?: number;
  sinceTime?: string;
  limitBytes?: number;
}

/** Whole lines (partials joined), each as kubectl shows it. */
export function renderLines(entries: LogEntry[], o: LogOptions = {}): string[] {
  const lines: string[] = [];
  let cur: { time: string; text: string } | undefined;
  const since = o.sinceTime ? Date.parse(o.sinceTime) : undefined;
  for (const e of entries) {
    if (since !== undefined && Date.parse(e.time) < since) continue;
    cur = cur ? { time: cur.time, text: cur.text + e.text } : { time: e.time, text: e.text };
    if (!e.partial) {
      lines.push(`${o.timestamps ? `${cur.time} ` : ''}${cur.text}\n`);
      cur = undefined;
    }
  }
  if (cur) lines.push(`${o.timestamps ? `${cur.time} ` : ''}${cur.text}`);
  return o.tailLines !== undefined && o.tailLines >= 0 ? lines.slice(Math.max(0, lines.length - o.tailLines)) : lines;
}

export function renderLog(text: string, o: LogOptions = {}): string {
  const s = renderLines(parseLog(text), o).join('');
  return o.limitBytes !== undefined ? Buffer.from(s).subarray(0, o.limitBytes).toString() : s;
}

type Listener = (stream: StreamName, chunk: Buffer, entries: LogEntry[]) => void;

// A line longer than this is written as partial entries, as the kubelet does (16 KiB).
const MAX_LINE = 16 * 1024;

/**
 * After a read, the pipe is left alone this long before the next. A container that logs a line per request (nginx's
 * access log) would otherwise wake the kubelet once per line: ~60 µs of CPU each in the kubelet's lean V8, against
 * ~14 µs per line when what arrived in 10 ms is read at once (measured with a writer at 5,000 lines/s). A pipe holds
 * 64 KiB, a few hundred such lines, so the writer is not held up; `kubectl logs -f` and attach see output at most
 * this much later.
 */
const READ_PAUSE_MS = 10;

/**
 * The one buffer every container's pipe is read into (onread): a read's bytes are copied out before its callback
 * returns, and the callbacks of one event loop never overlap, so one buffer serves the node (it was 128 KiB per
 * container). As large as a pipe: a read that fills it leaves more waiting, read at once rather than after a pause.
 */
const READ_BUFFER = Buffer.alloc(64 * 1024);

interface Pipe {
  sock: Socket;
  stream: StreamName;
  rest: string;
  timer?: NodeJS.Timeout;
  paused?: NodeJS.Timeout;
}

export class LogPump {
  private sockets: Pipe[] = [];
  private listeners = new Set<Listener>();
  private ends = new Set<() => void>();
  private closed = false;
  /** The log file, opened once (not per write: an open and a close per line cost as much as the rest). */
  private fd: number | undefined;

  constructor(
    private logPath: string,
    fifos: { out: string; err?: string },
  ) {
    for (const [stream, path] of [
      ['stdout', fifos.out],
      ['stderr', fifos.err],
    ] as const) {
      if (!path) continue;
      const fd = openFifo(path);
      // `onread` reads into one buffer, and makes pause() stop reading the pipe (without it, a paused socket goes on
      // reading into its queue). Node's constructor takes it as connect() does; @types/node lists it for connect only.
      const opts: SocketConstructorOpts & { onread: OnReadOpts } = {
        fd,
        readable: true,
        writable: false,
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array) => {
            this.take(s, Buffer.from(buf.subarray(0, n)));
            // A full buffer: the writer is ahead, read on (a pause would leave it blocked on a full pipe).
            if (n < buf.length && !s.paused && !this.closed) {
              sock.pause();
              s.paused = setTimeout(() => {
                s.paused = undefined;
                sock.resume();
              }, READ_PAUSE_MS);
            }
            return true;
          },
        },
      };
      const sock = new Socket(opts);
      const s: Pipe = { sock, stream, rest: '' };
      this.sockets.push(s);
      sock.on('error', () => undefined);
    }
  }

  /** Live output; `end` when the container is gone. Returns the unsubscribe. */
  on(l: Listener, end?: () => void): () => void {
    if (this.closed) {
      end?.();
      return () => undefined;
    }
    this.listeners.add(l);
    if (end) this.ends.add(end);
    return () => {
      this.listeners.delete(l);
      if (end) this.ends.delete(end);
    };
  }

  private take(s: Pipe, chunk: Buffer): void {
    const entries: LogEntry[] = [];
    const time = nanoTime();
    const parts = (s.rest + chunk.toString('utf8')).split('\n');
    s.rest = parts.pop()!;
    for (const p of parts) entries.push({ time, stream: s.stream, partial: false, text: p.replace(/\r$/, '') });
    while (s.rest.length > MAX_LINE) {
      entries.push({ time, stream: s.stream, partial: true, text: s.rest.slice(0, MAX_LINE) });
      s.rest = s.rest.slice(MAX_LINE);
    }
    // A prompt without a newline still reaches the log, a moment later.
    clearTimeout(s.timer);
    if (s.rest) s.timer = setTimeout(() => this.flushPartial(s), 200);
    this.write(entries);
    for (const l of this.listeners) l(s.stream, chunk, entries);
  }

  private flushPartial(s: Pipe): void {
    if (!s.rest) return;
    const e: LogEntry = { time: nanoTime(), stream: s.stream, partial: true, text: s.rest };
    s.rest = '';
    this.write([e]);
    for (const l of this.listeners) l(s.stream, Buffer.alloc(0), [e]);
  }

  private write(entries: LogEntry[]): void {
    if (!entries.length) return;
    try {
      this.fd ??= openSync(this.logPath, 'a');
      writeSync(this.fd, entries.map(formatEntry).join(''));
    } catch {
      // The pod's log directory is gone (the pod was removed): there is nowhere left to keep the output.
    }
  }

  /** The container exited: take what is left in the FIFOs, then stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    // What waits in a paused pipe is read now.
    for (const s of this.sockets) {
      clearTimeout(s.paused);
      s.paused = undefined;
      s.sock.resume();
    }
    await new Promise((r) => setTimeout(r, 50));
    this.closed = true;
    for (const s of this.sockets) {
      clearTimeout(s.timer);
      clearTimeout(s.paused);
      if (s.rest) this.write([{ time: nanoTime(), stream: s.stream, partial: false, text: s.rest }]);
      s.sock.destroy(); // closes the fd too
    }
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    for (const l of this.ends) l();
    this.listeners.clear();
    this.ends.clear();
  }
}
