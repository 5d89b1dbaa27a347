/**
 * The kubelet's API on port 10250 (HTTPS): container logs, exec, attach and
 * port-forward, which the api-server proxies to here, a relay for the
 * pods/proxy subresource, and the node's pods. Every request, upgrades
 * included, is authenticated (a client certificate of the cluster CA, or a
 * bearer token checked with a TokenReview) and authorized (a
 * SubjectAccessReview of nodes/proxy, nodes/pods...) first: auth.ts. Paths
 * as the real kubelet's:
 *   GET /pods                                                             (the PodList of this node's pods)
 *   GET /containerLogs/{ns}/{pod}/{container}?follow&previous&timestamps&tailLines&sinceSeconds&sinceTime&limitBytes
 *   GET /exec/{ns}/{pod}/{container}?command=..&stdin&stdout&stderr&tty   (WebSocket)
 *   GET /attach/{ns}/{pod}/{container}?stdin&stdout&stderr&tty             (WebSocket)
 *   GET /portForward/{ns}/{pod}                                          (WebSocket-tunnelled SPDY, SPDY, or channels)
 *   *   /proxy/{ns}/{pod}/{port}/{path}                                   (plain HTTP to the pod)
 */
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Container, PodSandbox } from '../pod-sandbox.js';
import { execIn } from '../runtime/exec.js';
import { renderLines, renderLog, type LogOptions } from '../runtime/logs.js';
import { channelSocket, EXEC_PROTOCOLS, pickProtocol, resizePty } from './channels.js';
import { portForwardChannels, portForwardSpdy, PORT_FORWARD_PROTOCOLS } from './portforward.js';
import { SpdySession } from './spdy.js';
import type { Credentials, KubeletAuth } from './auth.js';

export interface PodLookup {
  find(ns: string, name: string): { pod: Pod; sandbox: PodSandbox } | undefined;
  /** The pods bound to this node. */
  list(): Pod[];
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function status(res: ServerResponse, code: number, message: string): void {
  const reason = code === 404 ? 'NotFound' : code === 400 ? 'BadRequest' : 'InternalError';
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

const truthy = (v: string | null) => v === 'true' || v === '1';

/** What the TLS connection and the headers carry: the peer's certificate (and whether the CA verified it), a bearer token. */
export function credentialsOf(req: IncomingMessage): Credentials {
  const socket = req.socket as TLSSocket;
  const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  // An empty object when the client sent none.
  const subject = cert && Object.keys(cert).length ? cert.subject : undefined;
  return {
    ...(subject ? { certificate: { verified: socket.authorized === true, commonName: list(subject.CN)[0], organizations: list(subject.O) } } : {}),
    ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
  };
}

/** The kubelet answers its filter's refusals as plain text (go-restful's WriteErrorString). */
const refusal = (code: number, message: string) => ({
  code,
  head: `HTTP/1.1 ${code} ${code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : 'Internal Server Error'}`,
  message,
});

export function startStreamingServer(o: {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  caFile: string;
  pods: PodLookup;
  /** Authentication and authorization of every request (auth.ts). */
  auth: KubeletAuth;
  log: Logger;
}): Promise<Server> {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered, req) => pickProtocol(offered, req.url?.startsWith('/portForward/') ? PORT_FORWARD_PROTOCOLS : EXEC_PROTOCOLS),
  });

  const target = (url: URL, withContainer: boolean): { pod: Pod; sandbox: PodSandbox; ctr?: Container; parts: string[] } => {
    const parts = url.pathname.split('/').slice(2).map(decodeURIComponent);
    const [ns, name] = parts;
    const found = ns && name ? o.pods.find(ns, name) : undefined;
    if (!found) throw new HttpError(404, `pod "${name}" not found on this node`);
    if (!withContainer) return { ...found, parts };
    const names = (found.pod.spec?.containers ?? []).map((c) => c.name);
    const cname = parts[2] || (names.length === 1 ? names[0] : undefined);
    if (!cname) throw new HttpError(400, `a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
    const ctr = found.sandbox.containers.get(cname) ?? found.sandbox.inits.get(cname);
    if (!ctr) {
      if (!names.includes(cname) && !(found.pod.spec?.initContainers ?? []).some((c) => c.name === cname))
        throw new HttpError(400, `container ${cname} is not valid for pod ${name}`);
      throw new HttpError(400, `container "${cname}" in pod "${name}" is waiting to start: ContainerCreating`);
    }
    return { ...found, ctr, parts };
  };

  const logs = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const { pod, ctr } = target(url, true);
    const q = url.searchParams;
    const previous = truthy(q.get('previous'));
    if (ctr!.info.state.kind === 'waiting' && !ctr!.info.lastState && !previous)
      throw new HttpError(
        400,
        `container "${ctr!.name}" in pod "${pod.metadata?.name}" is waiting to start: ${ctr!.info.state.reason === 'ContainerCreating' ? 'ContainerCreating' : 'trying and failing to pull image'}`,
      );
    const count = ctr!.info.restartCount;
    const path = previous ? ctr!.logPath.replace(/\d+\.log$/, `${count - 1}.log`) : ctr!.logPath;
    if (previous && count < 1) throw new HttpError(400, `previous terminated container "${ctr!.name}" in pod "${pod.metadata?.name}" not found`);
    const sinceSeconds = q.get('sinceSeconds');
    const opts: LogOptions = {
      timestamps: truthy(q.get('timestamps')),
      tailLines: q.get('tailLines') !== null ? Number(q.get('tailLines')) : undefined,
      sinceTime: q.get('sinceTime') ?? (sinceSeconds ? new Date(Date.now() - Number(sinceSeconds) * 1000).toISOString() : undefined),
      limitBytes: q.get('limitBytes') !== null ? Number(q.get('limitBytes')) : undefined,
    };
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      /* nothing written yet */
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.write(renderLog(text, opts));
    if (!truthy(q.get('follow')) || previous || !ctr!.pump) return res.end();
    // Read and subscribe in one tick: the pump writes the file and notifies in one tick too, so nothing is lost or doubled.
    let sent = 0;
    const off = ctr!.pump.on(
      (_s, _c, entries) => {
        const out = renderLines(entries, { timestamps: opts.timestamps }).join('');
        sent += out.length;
        if (opts.limitBytes !== undefined && sent > opts.limitBytes) return res.end();
        if (out) res.write(out);
      },
      () => res.end(),
    );
    res.on('close', off);
  };

  const proxy = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const { sandbox, parts } = target(url, false);
    const port = Number(parts[2]);
    const path = '/' + parts.slice(3).map(encodeURIComponent).join('/') + url.search;
    const headers = { ...req.headers };
    delete headers.host;
    const up = httpRequest({ host: sandbox.ip, port, path, method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) =>
      res.headersSent
        ? res.destroy()
        : status(res, 503, `error trying to reach service: dial tcp ${sandbox.ip}:${port}: ${e.message.replace(/^connect /, '')}`),
    );
    req.pipe(up);
  };

  // A client certificate is asked for, not required: a caller may bring a bearer token instead (or, with
  // --anonymous-auth, nothing). Whether the CA verified it is auth.ts's to judge.
  const tls = { cert: readFileSync(o.certFile), key: readFileSync(o.keyFile), ca: readFileSync(o.caFile), requestCert: true, rejectUnauthorized: false };
  const server = createServer(tls, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    void o.auth.check(req.method ?? 'GET', url.pathname, credentialsOf(req)).then(
      (d) => {
        if (d.allowed) return serve(req, res, url);
        const r = refusal(d.code, d.message);
        res.writeHead(r.code, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(r.message);
      },
      (e: unknown) => {
        o.log.warn({ err: e }, 'kubelet request not authorized');
        status(res, 500, String(e));
      },
    );
  });

  const serve = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    try {
      const kind = url.pathname.split('/')[1];
      if (kind === 'healthz') return void res.end('ok');
      if (kind === 'pods' && url.pathname.replace(/\/$/, '') === '/pods' && (req.method === 'GET' || req.method === 'HEAD')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return void res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: o.pods.list() }));
      }
      if (kind === 'containerLogs' && req.method === 'GET') return logs(req, res, url);
      if (kind === 'proxy') return proxy(req, res, url);
      if (kind === 'exec' || kind === 'attach' || kind === 'portForward') throw new HttpError(400, 'Upgrade request required');
      throw new HttpError(404, `the server could not find the requested resource`);
    } catch (e) {
      if (e instanceof HttpError) return status(res, e.code, e.message);
      o.log.warn({ err: e }, 'kubelet request failed');
      status(res, 500, String(e));
    }
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'https://kubelet');
    // Nothing reaches the stream before authorization: its first bytes (head) wait in the request.
    void o.auth.check(req.method ?? 'GET', url.pathname, credentialsOf(req)).then(
      (d) => {
        if (d.allowed) return upgrade(req, socket, head, url);
        const r = refusal(d.code, d.message);
        socket.end(
          `${r.head}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(r.message)}\r\nConnection: close\r\n\r\n${r.message}`,
        );
      },
      (e: unknown) => {
        o.log.warn({ err: e }, 'kubelet stream not authorized');
        socket.destroy();
      },
    );
  });

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => {
    const kind = url.pathname.split('/')[1];
    const refuse = (code: number, message: string) => {
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code });
      socket.end(
        `HTTP/1.1 ${code} ${code === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    try {
      const isWs = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
      if (kind === 'portForward') {
        const { pod, sandbox } = target(url, false);
        if (!isWs) {
          // Native SPDY/3.1 (kubectl's fallback).
          socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n');
          const session = new SpdySession((b) => socket.write(b));
          socket.on('data', (d: Buffer) => session.feed(d));
          socket.on('close', () => session.close());
          session.on('close', () => socket.destroy());
          if (head.length) session.feed(head);
          return portForwardSpdy(session, pod, sandbox, o.log);
        }
        return wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
          if (ws.protocol.startsWith('SPDY/3.1')) {
            const session = new SpdySession((b) => ws.readyState === ws.OPEN && ws.send(b));
            ws.on('message', (d: Buffer) => session.feed(d));
            ws.on('close', () => session.close());
            session.on('close', () => ws.readyState === ws.OPEN && ws.close(1000));
            return portForwardSpdy(session, pod, sandbox, o.log);
          }
          portForwardChannels(
            ws,
            url.searchParams
              .getAll('ports')
              .flatMap((p) => p.split(','))
              .map(Number),
            sandbox,
          );
        });
      }
      if (kind !== 'exec' && kind !== 'attach') return refuse(404, 'the server could not find the requested resource');
      if (!isWs) return refuse(400, 'this kubelet streams exec and attach over WebSocket (v5.channel.k8s.io) only');
      const { pod, ctr } = target(url, true);
      const handle = ctr!.handle;
      if (!handle || !ctr!.pump) return refuse(400, `container ${ctr!.name} is not running`);
      const once = (pod.spec?.containers ?? []).find((c) => c.name === ctr!.name)?.stdinOnce === true;
      if (kind === 'attach') return wss.handleUpgrade(req, socket, head, (ws: WebSocket) => attach(ws, url, ctr!, once, () => socket.end()));
      // The program's pid is written a moment after the container is reported running.
      void handle.waitProgramPid(3000).then((pid) => {
        if (!pid) return refuse(400, `container ${ctr!.name} is not running`);
        wss.handleUpgrade(req, socket, head, (ws: WebSocket) => exec(ws, url, ctr!, pid, () => socket.end()));
      });
    } catch (e) {
      if (e instanceof HttpError) return refuse(e.code, e.message);
      o.log.warn({ err: e }, 'stream failed');
      refuse(400, String(e));
    }
  };

  const exec = (ws: WebSocket, url: URL, ctr: Container, pid: number, endConnection: () => void) => {
    const q = url.searchParams;
    const command = q.getAll('command');
    const tty = truthy(q.get('tty'));
    const stdin = truthy(q.get('stdin')) || truthy(q.get('input'));
    const child = execIn(pid, command, ctr.env, { tty, stdin });
    const ch = channelSocket(
      ws,
      {
        stdin: (d) => child.stdin?.write(d),
        stdinEnd: () => child.stdin?.end(),
        resize: (w, h) => tty && resizePty(child.pid!, w, h),
      },
      endConnection,
    );
    child.stdin?.on('error', () => undefined);
    child.stdout!.on('data', ch.stdout);
    child.stderr!.on('data', tty ? ch.stdout : ch.stderr);
    let done = false;
    child.on('error', (e) => {
      done = true;
      ch.finish(undefined, String(e));
    });
    child.on('close', (code, signal) => {
      if (done) return;
      done = true;
      ch.finish(code ?? (signal ? 137 : 1), undefined, command);
    });
    ws.on('close', () => {
      if (!done)
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
    });
  };

  const attach = (ws: WebSocket, url: URL, ctr: Container, stdinOnce: boolean, endConnection: () => void) => {
    const q = url.searchParams;
    const wantIn = truthy(q.get('stdin'));
    // stdinOnce: the first attach whose stdin ends closes the container's stdin (it sees end of file).
    const closeStdin = () => {
      if (wantIn && stdinOnce) ctr.handle?.closeStdin();
    };
    const ch = channelSocket(
      ws,
      {
        stdin: (d) => wantIn && ctr.handle?.writeStdin(d),
        stdinEnd: closeStdin,
        resize: (w, h) => ctr.handle && resizePty(ctr.handle.programPid() ?? 0, w, h),
      },
      endConnection,
    );
    // The first attach to a stdinOnce container (kubectl run -i) also gets what it printed before the attach.
    if (stdinOnce && !ctr.attached) {
      try {
        const before = renderLog(readFileSync(ctr.logPath, 'utf8'));
        if (before) ch.stdout(Buffer.from(before));
      } catch {
        /* nothing yet */
      }
    }
    ctr.attached = true;
    // The container may have ended while the WebSocket was being set up.
    const off = ctr.pump
      ? ctr.pump.on(
          (stream, chunk) => (stream === 'stderr' ? ch.stderr(chunk) : ch.stdout(chunk)),
          () => ch.finish(0),
        )
      : (ch.finish(0), () => undefined);
    ws.on('close', () => {
      off();
      closeStdin();
    });
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve(server));
  });
}
