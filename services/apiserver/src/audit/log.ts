/**
 * The audit log (kube-apiserver's --audit-log-path): one audit.k8s.io/v1
 * Event per request and stage, as JSON lines — RequestReceived when the
 * request arrives (unless the policy omits it), ResponseStarted when a
 * long-running request (a watch, exec, logs) sends its headers, and
 * ResponseComplete when the response is finished. Every response carries
 * its audit ID in the `Audit-Id` header, as kube-apiserver's. The level
 * comes from the policy; Request and RequestResponse add the request body
 * (as the handler read it) and the response body.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { UserInfo } from '../http/auth.js';
import { bodyRead } from '../http/body.js';
import { ANONYMOUS } from '../http/flowcontrol-config.js';
import { requestContext } from '../http/request-context.js';
import { isLongRunning, type RequestInfo } from '../http/request-info.js';
import { auditEvent, type AuditEvent } from './event.js';
import { DEFAULT_POLICY, evaluate, parsePolicy, type Level, type Policy, type Stage } from './policy.js';
import { RotatingFile } from './rotating-file.js';

/** Response bodies kept for an event at most (kube-apiserver's request limit). */
const MAX_CAPTURE = 3 * 1024 * 1024;

/** What the api-server knew of a request when it arrived. */
export interface Arrival {
  received: Date;
  info: RequestInfo;
  /** The user found before the handler ran (the handler's own answer, in requestContext, wins). */
  user?: UserInfo;
}

function sourceIPs(req: IncomingMessage): string[] {
  const out: string[] = [];
  const xff = req.headers['x-forwarded-for'];
  for (const part of (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',')) if (part.trim()) out.push(part.trim());
  const real = req.headers['x-real-ip'];
  if (typeof real === 'string' && real.trim()) out.push(real.trim());
  const remote = req.socket.remoteAddress?.replace(/^::ffff:/, '');
  if (remote) out.push(remote);
  return [...new Set(out)];
}

function parseJson(buf: Buffer | undefined): unknown {
  if (!buf?.length) return undefined;
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A request that is not an HTTP exchange (a call on the components' gRPC
 * front), as the api-server knows it once the caller is authenticated.
 */
export interface CallArrival {
  auditID: string;
  received: Date;
  requestURI: string;
  info: RequestInfo;
  /** The caller, or ANONYMOUS when it could not be authenticated. */
  user: UserInfo;
  sourceIPs: string[];
  userAgent?: string;
}

/** What a call's later stages add: its answer's code and, for the Request levels, the objects. */
export interface CallOutcome {
  code: number;
  /** The Status of a failure, or the object answered; read only when the level or a failure needs it. */
  response?: () => unknown;
  /** The request's body, decoded; read only at the Request levels. */
  requestObject?: () => unknown;
  authorization?: { allowed: boolean; reason: string };
  annotations?: Record<string, string>;
}

/** Writes one of a call's stages (ResponseStarted for a watch's start, ResponseComplete when it is answered). */
export type CallStages = (stage: 'ResponseStarted' | 'ResponseComplete', outcome: CallOutcome) => void;

export class AuditLog {
  private constructor(
    private readonly out: { write(line: string): void; end(): void },
    private readonly policy: Policy,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Open the log for appending, rotated as kube-apiserver's (rotating-file.ts); the policy file, when given, is
   * parsed now (a bad one stops the api-server, as kube-apiserver).
   */
  static open(path: string, policyFile?: string, rotation: { maxSizeMB?: number; maxBackups?: number } = {}): AuditLog {
    const policy = policyFile ? parsePolicy(readFileSync(policyFile, 'utf8')) : DEFAULT_POLICY;
    mkdirSync(dirname(path), { recursive: true });
    return new AuditLog(new RotatingFile(path, rotation.maxSizeMB, rotation.maxBackups), policy);
  }

  /** For tests: events go to `write`. */
  static to(write: (line: string) => void, policy: Policy = DEFAULT_POLICY, now?: () => Date): AuditLog {
    return new AuditLog({ write, end: () => undefined }, policy, now);
  }

  /** The request's audit ID: the client's Audit-ID header if it sent one, else a new one; sent back in Audit-Id (not on an upgrade). */
  auditID(req: IncomingMessage, res?: ServerResponse): string {
    const given = req.headers['audit-id'];
    const id = typeof given === 'string' && given.trim() ? given.trim().slice(0, 128) : randomUUID();
    res?.setHeader('Audit-Id', id);
    return id;
  }

  /**
   * An upgrade (exec, attach, port-forward, proxy): no ServerResponse, the
   * answer is written to the socket. As kube-apiserver, whose audit writer
   * fakes a 101 when the connection is hijacked: ResponseStarted when the
   * status line goes out (101, or the refusal's code), ResponseComplete with
   * that code when the connection closes.
   */
  beginUpgrade(req: IncomingMessage, socket: Duplex, auditID: string, a: Arrival): void {
    const { level, omitStages } = evaluate(this.policy, a.user ?? ANONYMOUS, a.info);
    if (level === 'None') return;
    const emit = (stage: Stage, code?: number, body?: Buffer) => {
      if (!omitStages.includes(stage)) this.write(this.event(req, auditID, a, level, stage, code, body));
    };
    emit('RequestReceived');
    let code: number | undefined;
    let body: Buffer | undefined;
    const first = (chunk: unknown) => {
      if (code !== undefined || (typeof chunk !== 'string' && !Buffer.isBuffer(chunk))) return;
      const text = chunk.toString();
      code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const at = text.indexOf('\r\n\r\n');
      // A refusal is written whole, its Status after the headers; a 101 is followed by the stream, never kept.
      if (code >= 400 && at >= 0) body = Buffer.from(text.slice(at + 4));
      emit('ResponseStarted', code);
    };
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
    socket.write = ((...args: unknown[]) => (first(args[0]), write(...args))) as typeof socket.write;
    socket.end = ((...args: unknown[]) => (first(args[0]), end(...args))) as typeof socket.end;
    socket.once('close', () => emit('ResponseComplete', code, body));
  }

  /** Decide the request's level and hook its stages. */
  begin(req: IncomingMessage, res: ServerResponse, auditID: string, a: Arrival): void {
    const { level, omitStages } = evaluate(this.policy, a.user ?? ANONYMOUS, a.info);
    if (level === 'None') return;
    const emit = (stage: Stage, code?: number, body?: Buffer) => {
      if (omitStages.includes(stage)) return;
      this.write(this.event(req, auditID, a, level, stage, code, body));
    };
    emit('RequestReceived');
    if (isLongRunning(a.info)) {
      // A watch's response never completes while it is useful: say when it started.
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
      res.writeHead = (...args: unknown[]) => {
        const r = writeHead(...args);
        emit('ResponseStarted', res.statusCode);
        return r;
      };
    }
    const captured = level === 'RequestResponse' || !isLongRunning(a.info) ? this.capture(res, level) : () => undefined;
    let done = false;
    const complete = () => {
      if (done) return;
      done = true;
      emit('ResponseComplete', res.statusCode, captured());
    };
    res.on('finish', complete);
    res.on('close', complete);
  }

  /**
   * Audit a call that is not an HTTP exchange with the same policy, levels and
   * stages as REST's: RequestReceived now (unless omitted), the others through
   * the function answered. Undefined when the policy does not audit the call.
   */
  call(a: CallArrival): CallStages | undefined {
    const { level, omitStages } = evaluate(this.policy, a.user, a.info);
    if (level === 'None') return undefined;
    const emit = (stage: Stage, o?: CallOutcome) => {
      if (omitStages.includes(stage)) return;
      const wantResponse = stage === 'ResponseComplete' && (level === 'RequestResponse' || (o?.code ?? 0) >= 400);
      const response = wantResponse ? o?.response?.() : undefined;
      this.write(
        auditEvent({
          ...a,
          level,
          stage,
          now: this.now(),
          code: o?.code,
          responseBody: response,
          requestObject: level === 'Request' || level === 'RequestResponse' ? o?.requestObject?.() : undefined,
          responseObject: response,
          authorization: o?.authorization,
          annotations: o?.annotations,
        }),
      );
    };
    emit('RequestReceived');
    return emit;
  }

  close(): void {
    this.out.end();
  }

  private write(e: AuditEvent): void {
    this.out.write(JSON.stringify(e) + '\n');
  }

  /** Keep what the response writes, up to MAX_CAPTURE: its Status for errors, or the object for RequestResponse. */
  private capture(res: ServerResponse, level: Level): () => Buffer | undefined {
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (chunk: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function' || size > MAX_CAPTURE) return;
      if (level !== 'RequestResponse' && res.statusCode < 400) return;
      const b = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : undefined;
      if (!b) return;
      size += b.length;
      if (size <= MAX_CAPTURE) chunks.push(b);
      else chunks.length = 0;
    };
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((...args: unknown[]) => {
      keep(args[0]);
      return write(...args);
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      keep(args[0]);
      return end(...args);
    }) as typeof res.end;
    return () => (chunks.length ? Buffer.concat(chunks) : undefined);
  }

  private event(req: IncomingMessage, auditID: string, a: Arrival, level: Level, stage: Stage, code?: number, body?: Buffer): AuditEvent {
    const ctx = requestContext(req);
    const acting = ctx.user ?? a.user ?? ANONYMOUS;
    const info: RequestInfo = {
      ...a.info,
      ...(ctx.verb && a.info.isResourceRequest ? { verb: ctx.verb } : {}),
      ...(ctx.resource ? { resource: ctx.resource, subresource: ctx.subresource ?? '', namespace: ctx.namespace ?? '', name: ctx.name ?? '' } : {}),
      ...(ctx.apiGroup !== undefined && ctx.resource ? { apiGroup: ctx.apiGroup } : {}),
      ...(ctx.apiVersion && ctx.resource ? { apiVersion: ctx.apiVersion } : {}),
    };
    const response = code !== undefined && stage === 'ResponseComplete' ? parseJson(body) : undefined;
    return auditEvent({
      auditID,
      level,
      stage,
      requestURI: req.url ?? '/',
      info,
      user: ctx.impersonatedBy ?? acting,
      impersonatedUser: ctx.impersonatedBy ? acting : undefined,
      sourceIPs: sourceIPs(req),
      userAgent: req.headers['user-agent'],
      received: a.received,
      now: this.now(),
      code,
      responseBody: response,
      requestObject: level === 'Request' || level === 'RequestResponse' ? parseJson(bodyRead(req)) : undefined,
      responseObject: level === 'RequestResponse' ? response : undefined,
      authorization: ctx.authorization,
      annotations: ctx.auditAnnotations,
    });
  }
}
