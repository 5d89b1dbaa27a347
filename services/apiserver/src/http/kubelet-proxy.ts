/**
 * The pod subresources that reach the kubelet: log, exec, attach,
 * portforward and proxy. The api-server finds the pod's node, checks what
 * Kubernetes checks (a host assigned, a valid container, not a finished pod
 * for exec/attach), and relays to the kubelet's port 10250 over TLS with
 * its kubelet client certificate: plain requests are piped, upgrades
 * (WebSocket, SPDY) are relayed byte for byte once the kubelet answers 101.
 * Like kube-apiserver without --kubelet-certificate-authority, it does not
 * verify the kubelet's serving certificate.
 */
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage, ServerResponse, IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { badRequest, lookupResource, StatusError } from '@kemu/api';
import type { RestStore } from '../registry/rest.js';
import { normalizeBools } from './query.js';

export interface KubeletClientCert {
  cert: string | Buffer;
  key: string | Buffer;
}

export const KUBELET_SUBRESOURCES = ['log', 'exec', 'attach', 'portforward', 'proxy'];

/**
 * The boolean options of pods/log, exec and attach (PodLogOptions,
 * PodExecOptions, PodAttachOptions). The api-server reads them loosely, as
 * Kubernetes does, and passes them on as `true` / `false`: the kubelet reads
 * its query strictly. `input` is the old name of exec's stdin.
 */
const KUBELET_BOOL_PARAMS = ['follow', 'previous', 'timestamps', 'insecureSkipTLSVerifyBackend', 'stdin', 'stdout', 'stderr', 'tty', 'input'] as const;

const PODS = lookupResource('', 'v1', 'pods')!;
const NODES = lookupResource('', 'v1', 'nodes')!;

/** Where a request goes on the kubelet. */
export interface KubeletTarget {
  host: string;
  port: number;
  path: string;
}

/** Where the request goes on the kubelet: host, port and path. Throws the Status Kubernetes gives. */
export async function kubeletTarget(rest: RestStore, ns: string, name: string, sub: string, q: URLSearchParams, proxyPath = '/'): Promise<KubeletTarget> {
  const [podName, podPort] = sub === 'proxy' ? name.split(':') : [name];
  const pod = (await rest.get(PODS, ns, podName)) as Pod;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw badRequest(`pod ${podName} does not have a host assigned`);
  const node = (await rest.get(NODES, undefined, nodeName).catch(() => {
    throw new StatusError(500, 'InternalError', `nodes "${nodeName}" not found`);
  })) as Node;
  const host = (node.status?.addresses ?? []).find((a) => a.type === 'InternalIP')?.address;
  const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250);
  if (!host) throw new StatusError(500, 'InternalError', `node ${nodeName} has no InternalIP address`);
  const enc = encodeURIComponent;
  if (sub === 'proxy') {
    const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
    const p = podPort ? (/^\d+$/.test(podPort) ? Number(podPort) : ports.find((x) => x.name === podPort)?.containerPort) : (ports[0]?.containerPort ?? 80);
    if (!p) throw badRequest(`no such port "${podPort}" on pod ${podName}`);
    return { host, port, path: `/proxy/${enc(ns)}/${enc(podName)}/${p}${proxyPath}${q.size ? `?${q}` : ''}` };
  }
  if (sub === 'portforward') return { host, port, path: `/portForward/${enc(ns)}/${enc(podName)}${q.size ? `?${q}` : ''}` };
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const all = [...containers, ...(pod.spec?.initContainers ?? []).map((c) => c.name)];
  let container = q.get('container') ?? '';
  if (!container) {
    if (containers.length !== 1) throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${containers.join(' ')}]`);
    container = containers[0]!;
  }
  if (!all.includes(container)) throw badRequest(`container ${container} is not valid for pod ${podName}`);
  const phase = pod.status?.phase;
  if ((sub === 'exec' || sub === 'attach') && (phase === 'Succeeded' || phase === 'Failed'))
    throw badRequest(`cannot ${sub} into a container in a completed pod; current phase is ${phase}`);
  const rest2 = normalizeBools(q, KUBELET_BOOL_PARAMS);
  rest2.delete('container');
  const kind = sub === 'log' ? 'containerLogs' : sub;
  return { host, port, path: `/${kind}/${enc(ns)}/${enc(podName)}/${enc(container)}${rest2.size ? `?${rest2}` : ''}` };
}

/**
 * nodes/proxy: a path on the node's kubelet (`kubectl get --raw /api/v1/nodes/NODE/proxy/pods`). The name may carry
 * a port (`NODE:10250`), as kube-apiserver's node proxy takes it; the kubelet authorizes the api-server's
 * certificate for what the path asks (nodes/pods, nodes/proxy...).
 */
export async function nodeProxyTarget(rest: RestStore, name: string, q: URLSearchParams, proxyPath = '/'): Promise<KubeletTarget> {
  const [nodeName, nodePort] = name.replace(/^https:/, '').split(':');
  const node = (await rest.get(NODES, undefined, nodeName)) as Node;
  const host = (node.status?.addresses ?? []).find((a) => a.type === 'InternalIP')?.address;
  if (!host) throw new StatusError(500, 'InternalError', `node ${nodeName} has no InternalIP address`);
  const port = Number(nodePort || (node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250));
  return { host, port, path: `${proxyPath}${q.size ? `?${q}` : ''}` };
}

function forwardHeaders(h: IncomingHttpHeaders): IncomingHttpHeaders {
  const out = { ...h };
  delete out.host;
  delete out.authorization; // the kubelet trusts the api-server's certificate, not the user's credentials
  return out;
}

/** The user's request as the api-server sends it on to the kubelet, with its own client certificate. */
function kubeletRequest(t: KubeletTarget, cert: KubeletClientCert, req: IncomingMessage): RequestOptions {
  return {
    host: t.host,
    port: t.port,
    path: t.path,
    method: req.method,
    headers: forwardHeaders(req.headers),
    cert: cert.cert,
    key: cert.key,
    rejectUnauthorized: false,
  };
}

/** log and proxy: a plain request, streamed back as it comes (logs -f). */
export function relayRequest(t: KubeletTarget, cert: KubeletClientCert, req: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const up = request(kubeletRequest(t, cert, req), (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
      r.on('end', resolve);
      r.on('error', () => resolve());
    });
    up.on('error', (e) => {
      if (!res.headersSent) {
        const body = JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `error dialing backend: dial tcp ${t.host}:${t.port}: ${e.message.replace(/^connect /, '')}`,
          reason: 'InternalError',
          code: 500,
        });
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(body);
      } else res.destroy();
      resolve();
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
}

/** exec, attach, portforward: relay the upgrade and then the bytes. */
export function relayUpgrade(t: KubeletTarget, cert: KubeletClientCert, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const up = request(kubeletRequest(t, cert, req));
  up.on('upgrade', (r, kSocket, kHead) => {
    const lines = [`HTTP/1.1 101 ${r.statusMessage ?? 'Switching Protocols'}`];
    for (let i = 0; i < r.rawHeaders.length; i += 2) lines.push(`${r.rawHeaders[i]}: ${r.rawHeaders[i + 1]}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    if (kHead.length) socket.write(kHead);
    if (head.length) kSocket.write(head);
    kSocket.pipe(socket);
    socket.pipe(kSocket);
    kSocket.on('error', () => socket.destroy());
    socket.on('error', () => kSocket.destroy());
    kSocket.on('close', () => socket.destroy());
    socket.on('close', () => kSocket.destroy());
  });
  up.on('response', (r) => {
    // No upgrade: pass the kubelet's answer on (kubectl shows its Status).
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => {
      const body = Buffer.concat(chunks);
      // The head as text, the body as the bytes it came as (the kubelet's answer need not be UTF-8).
      socket.write(
        `HTTP/1.1 ${r.statusCode} ${r.statusMessage}\r\nContent-Type: ${r.headers['content-type'] ?? 'application/json'}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.end(body);
    });
  });
  up.on('error', (e) =>
    refuseUpgrade(socket, new StatusError(500, 'InternalError', `error dialing backend: dial tcp ${t.host}:${t.port}: ${e.message.replace(/^connect /, '')}`)),
  );
  socket.on('error', () => up.destroy());
  up.end();
}

export function refuseUpgrade(socket: Duplex, e: unknown): void {
  const s = (e instanceof StatusError ? e : new StatusError(500, 'InternalError', String(e))).status;
  const body = JSON.stringify(s);
  if (!socket.writable) return void socket.destroy();
  socket.end(
    `HTTP/1.1 ${s.code} ${s.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
