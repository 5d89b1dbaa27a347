/**
 * Request bodies: read with a size limit (413 past 3 MiB, as Kubernetes),
 * parse JSON only after checking its nesting depth, so a hostile body can
 * neither exhaust memory nor the stack.
 */
import type { IncomingMessage } from 'node:http';
import { badRequest, entityTooLarge } from '@kemu/api';

export const MAX_BODY = 3 * 1024 * 1024;
export const MAX_DEPTH = 1000;

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
    req.on('end', () => !failed && resolve(Buffer.concat(chunks)));
    req.on('error', (e) => !failed && reject(e));
  });
}

/** The deepest nesting of arrays/objects in a JSON text, stopping early past `max`. */
export function jsonDepth(text: string, max = MAX_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return deepest;
}

/** Parse a JSON request body, answering 400 for anything that is not sound JSON. */
export function parseJsonBody(text: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!text.trim()) throw badRequest('Object \'Kind\' is missing in \'\'');
  if (jsonDepth(text) > MAX_DEPTH) throw badRequest(`json: exceeded max depth of ${MAX_DEPTH}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`error decoding request body: ${(e as Error).message}`);
  }
}
