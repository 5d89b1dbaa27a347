/**
 * The channel WebSocket protocol of exec and attach (v5.channel.k8s.io,
 * v4.channel.k8s.io, channel.k8s.io): binary messages whose first byte is
 * the channel — 0 stdin, 1 stdout, 2 stderr, 3 error (a Status, sent once
 * at the end), 4 resize ({"Width","Height"}), 255 close (v5: [255, ch]
 * half-closes a channel). Also terminal resizing by the pty's path.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import type { WebSocket } from 'ws';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'];
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

export interface ChannelHandlers {
  stdin?(data: Buffer): void;
  stdinEnd?(): void;
  resize?(width: number, height: number): void;
}

export function pickProtocol(offered: Set<string>, supported: string[]): string | false {
  return supported.find((p) => offered.has(p)) ?? false;
}

/**
 * Wire a WebSocket's incoming channels to handlers; returns the writers.
 * `endConnection` ends the TCP connection under the socket once the stream is
 * finished: the Go kubelet closes the connection with the stream, and some
 * clients (the Python client 22.6) never read a close frame that arrives in
 * the same TLS record as the final status, so waiting for their closing
 * handshake (ws waits 30 s) would leave them hanging.
 */
export function channelSocket(ws: WebSocket, h: ChannelHandlers, endConnection?: () => void) {
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const data = isBinary ? raw : Buffer.from(raw.toString()); // tolerate text frames
    if (!data.length) return;
    const ch = data[0];
    const body = data.subarray(1);
    if (ch === STDIN) h.stdin?.(body);
    else if (ch === CLOSE && body[0] === STDIN) h.stdinEnd?.();
    else if (ch === RESIZE) {
      try {
        // The client's JSON ({"Width":80,"Height":24}); `null` throws like any malformed frame.
        const { Width, Height } = JSON.parse(body.toString()) as { Width?: unknown; Height?: unknown };
        const [cols, rows] = [Number(Width), Number(Height)];
        if (cols > 0 && rows > 0) h.resize?.(cols, rows);
      } catch {
        /* a malformed resize is ignored, as the kubelet does */
      }
    }
  });
  const send = (ch: number, data: Buffer | string) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(Buffer.concat([Buffer.from([ch]), Buffer.isBuffer(data) ? data : Buffer.from(data)]));
  };
  return {
    stdout: (d: Buffer) => send(STDOUT, d),
    stderr: (d: Buffer) => send(STDERR, d),
    /** The final Status, then a normal close. */
    finish(exitCode: number | undefined, message?: string, command: string[] = []) {
      const status =
        exitCode === 0 || exitCode === undefined
          ? message
            ? { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 }
            : { metadata: {}, status: 'Success' }
          : {
              metadata: {},
              status: 'Failure',
              message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
            };
      send(ERROR, JSON.stringify(status));
      if (ws.readyState === ws.OPEN) ws.close(1000);
      // end() writes what is queued (the status and the close frame) before the FIN.
      endConnection?.();
    },
  };
}

/** Resize the terminal `script` gave the process tree under `pid` (retries: the pty appears a moment after start). */
export function resizePty(pid: number, width: number, height: number, tries = 10): void {
  let pts: string | undefined;
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const k of kids) {
      // The link names the pty as the container sees it; /proc/<pid>/fd/0 opens the same one from here.
      if (/\/dev\/pts\/\d+$/.test(readlinkSync(`/proc/${k}/fd/0`))) pts = `/proc/${k}/fd/0`;
    }
  } catch {
    /* not there yet */
  }
  if (!pts) {
    if (tries > 0) setTimeout(() => resizePty(pid, width, height, tries - 1), 50).unref();
    return;
  }
  execFile('stty', ['-F', pts, 'rows', String(height), 'cols', String(width)], () => undefined);
}
