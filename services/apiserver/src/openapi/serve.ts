/**
 * The /openapi routes as kube-openapi's handlers answer them: /openapi/v2 in
 * JSON or gnostic protobuf by Accept (406 for anything else), the v3 index
 * and one v3 document per group/version. Every answer carries an ETag (the
 * SHA-512 of the JSON) and Last-Modified, and a matching If-None-Match (or
 * If-Modified-Since) gets 304. A v3 URL with the current `?hash=` may be
 * cached for good; an old hash is redirected to the current one. Each body is
 * built once, on first request: the API's types do not change while the
 * api-server runs.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openapiDocument, openapiDocuments, openapiIndex } from './index.js';
import { swaggerOf, type JsonObject } from './swagger.js';
import { encodeDocument } from './gnostic.js';

const PROTOBUF_V2 = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** One media type of an Accept header. */
interface Clause {
  type: string;
  subtype: string;
  q: number;
}

/**
 * The clauses of an Accept header in the order a server should try them: by
 * q, then concrete types before wildcards (goautoneg's order, stable). An
 * empty header accepts anything.
 */
export function acceptClauses(accept: string | undefined): Clause[] {
  const out: Clause[] = [];
  for (const part of (accept?.trim() ? accept : '*/*').split(',')) {
    const [range, ...params] = part.split(';').map((p) => p.trim());
    const [type, subtype = '*'] = range.toLowerCase().split('/');
    if (!type) continue;
    const qp = params.find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (!(q > 0)) continue;
    out.push({ type, subtype, q });
  }
  const rank = (c: Clause) => (c.type === '*' ? 2 : 0) + (c.subtype === '*' ? 1 : 0);
  return out.sort((a, b) => b.q - a.q || rank(a) - rank(b));
}

/** The first offer (`type/subtype`) the Accept header takes, in the header's order of preference. */
export function negotiate<T extends string>(accept: string | undefined, offers: readonly T[]): T | undefined {
  for (const c of acceptClauses(accept)) {
    const hit = offers.find((o) => {
      const [type, subtype] = o.split('/');
      return (c.type === '*' || c.type === type) && (c.subtype === '*' || c.subtype === subtype);
    });
    if (hit) return hit;
  }
  return undefined;
}

/** A body as it is served: bytes, their ETag, when they were made, and their gzip (made on first need). */
interface Body {
  bytes: Buffer;
  etag: string;
  built: Date;
  gzipped?: Buffer;
}

const etagOf = (hash: string) => `"${hash}"`;
const sha512 = (b: Buffer | string) => createHash('sha512').update(b).digest('hex').toUpperCase();

let v2: { json: Body; proto: Body } | undefined;

/** The v2 document in both forms, built on first use; both share the JSON's ETag (the answer varies by Accept). */
function openapiV2(): { json: Body; proto: Body } {
  if (!v2) {
    const swagger = swaggerOf(openapiDocuments().map((d) => JSON.parse(d.json) as JsonObject));
    const json = Buffer.from(JSON.stringify(swagger));
    const etag = etagOf(sha512(json));
    const built = new Date();
    v2 = { json: { bytes: json, etag, built }, proto: { bytes: Buffer.from(encodeDocument(swagger)), etag, built } };
  }
  return v2;
}

/** The Swagger 2.0 document as served at /openapi/v2 (for tests and tools). */
export function openapiV2Document(): { json: Buffer; protobuf: Buffer } {
  const d = openapiV2();
  return { json: d.json.bytes, protobuf: d.proto.bytes };
}

const v3Bodies = new Map<string, Body>();
let v3Index: Body | undefined;

function v3Body(path: string): Body | undefined {
  let b = v3Bodies.get(path);
  if (!b) {
    const doc = openapiDocument(path);
    if (!doc) return undefined;
    b = { bytes: Buffer.from(doc.json), etag: etagOf(doc.hash), built: doc.built };
    v3Bodies.set(path, b);
  }
  return b;
}

function notModified(req: IncomingMessage, body: Body): boolean {
  const inm = req.headers['if-none-match'];
  if (inm) return inm.split(',').some((t) => ['*', body.etag, `W/${body.etag}`].includes(t.trim()));
  const ims = Date.parse(req.headers['if-modified-since'] ?? '');
  return !Number.isNaN(ims) && Math.floor(body.built.getTime() / 1000) * 1000 <= ims;
}

/** Whether Accept-Encoding takes gzip (Go's HTTP client asks for it unless told not to). */
function acceptsGzip(req: IncomingMessage): boolean {
  return (req.headers['accept-encoding'] ?? '').split(',').some((part) => {
    const [coding, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return coding === 'gzip' && (!q || Number(q.slice(2)) > 0);
  });
}

// gziphandler's threshold: smaller bodies are not worth compressing.
const GZIP_MIN = 1400;

/** Send `body` as http.ServeContent does: 304 when the client holds it already, gzip when asked and worth it. */
function send(req: IncomingMessage, res: ServerResponse, body: Body, contentType: string, headers: Record<string, string>, gzip: boolean): void {
  const h: Record<string, string> = {
    'Cache-Control': 'no-cache, private',
    ...headers,
    ETag: body.etag,
    'Last-Modified': body.built.toUTCString(),
  };
  if (notModified(req, body)) {
    res.writeHead(304, h);
    res.end();
    return;
  }
  let bytes = body.bytes;
  if (gzip) h.Vary = h.Vary ? `${h.Vary}, Accept-Encoding` : 'Accept-Encoding';
  if (gzip && bytes.length >= GZIP_MIN && acceptsGzip(req)) {
    bytes = body.gzipped ??= gzipSync(body.bytes);
    h['Content-Encoding'] = 'gzip';
  }
  res.writeHead(200, { ...h, 'Content-Type': contentType, 'Content-Length': String(bytes.length) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

function notAcceptable(res: ServerResponse): void {
  res.writeHead(406, { Vary: 'Accept', 'Content-Length': '0' });
  res.end();
}

// kube-openapi takes the protobuf type under its old name too (what kubectl sends) and answers with the new one.
const V2_OFFERS = ['application/json', 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf', PROTOBUF_V2] as const;

/**
 * Answer a request for /openapi/v2, /openapi/v3 or /openapi/v3/<group-version>;
 * false when the group/version has no document (the caller answers 404).
 */
export function serveOpenapi(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): boolean {
  if (path === '/openapi/v2') {
    const offer = negotiate(req.headers.accept, V2_OFFERS);
    if (!offer) notAcceptable(res);
    else if (offer === 'application/json') send(req, res, openapiV2().json, 'application/json', { Vary: 'Accept' }, true);
    else send(req, res, openapiV2().proto, PROTOBUF_V2, { Vary: 'Accept' }, true);
    return true;
  }
  if (path === '/openapi/v3') {
    if (!v3Index) {
      const bytes = Buffer.from(JSON.stringify(openapiIndex()));
      v3Index = { bytes, etag: etagOf(sha512(bytes)), built: new Date() };
    }
    send(req, res, v3Index, 'application/json', {}, false);
    return true;
  }
  const gv = path.slice('/openapi/v3/'.length);
  const body = v3Body(gv);
  if (!body) return false;
  // kemu has the v3 documents in JSON only: a client that takes nothing else gets 406, not a body it cannot read.
  if (!negotiate(req.headers.accept, ['application/json'] as const)) {
    notAcceptable(res);
    return true;
  }
  const hash = query.get('hash');
  if (hash && etagOf(hash) !== body.etag) {
    const location = `/openapi/v3/${gv}?hash=${body.etag.slice(1, -1)}`;
    res.writeHead(301, { Location: location, Vary: 'Accept', 'Content-Length': '0' });
    res.end();
    return true;
  }
  // With the current hash in its URL the answer never changes: kubectl's disk cache may keep it.
  const cache: Record<string, string> = hash ? { 'Cache-Control': 'public, immutable', Expires: new Date(Date.now() + 365 * 86400_000).toUTCString() } : {};
  send(req, res, body, 'application/json', { Vary: 'Accept', ...cache }, false);
  return true;
}
