/**
 * Request bodies: read with a size limit (413 past 3 MiB, as Kubernetes), so
 * a hostile body cannot exhaust memory. Parsing is ../encoding/json.ts.
 * The body read is remembered beside the request for the audit log.
 */
import type { IncomingMessage } from 'node:http';
import { entityTooLarge } from '@kemu/api';

export const MAX_BODY = 3 * 1024 * 1024;

/** The bodies read so far, for the audit log's Request level (kept only as long as the request). */
const bodies = new WeakMap<IncomingMessage, Buffer>();

/** The body the handler read from this request, if it read one. */
export function bodyRead(req: IncomingMessage): Buffer | undefined {
  return bodies.get(req);
}

export function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume(); // drain, so the connection can carry the answer
      reject(entityTooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(entityTooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (failed) return;
      const body = Buffer.concat(chunks);
      bodies.set(req, body);
      resolve(body);
    });
    req.on('error', (e) => !failed && reject(e));
  });
}
