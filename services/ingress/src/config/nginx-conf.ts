/**
 * The model → nginx.conf text for Debian's nginx, in the shape of
 * ingress-nginx's template: one upstream per backend listing its pods (kept
 * alive, the next one tried on a connection error or timeout), a catch-all
 * default server answering 404 on 80 and 443 (with a self-signed
 * certificate, as ingress-nginx's "Fake Certificate"), and one server per
 * host on both ports whose certificate nginx picks by SNI. The proxy headers
 * are set once, at the http level, so every location inherits all of them.
 *
 * Besides the text, the line numbers each Ingress produced: when nginx's
 * test refuses a configuration, the line it names tells which Ingress to
 * leave out. Pure.
 */
import type { Location } from './locations.js';
import { CATCH_ALL, type Model, type Server } from './model.js';
import { DEFAULT_SETTINGS, type Settings } from './settings.js';

export interface ConfOptions {
  /** Where nginx keeps its pid file and temporary files. */
  confDir: string;
  /** `listen` address of plain HTTP: a port, or address:port. */
  httpListen: string;
  /** `listen` address of HTTPS. */
  httpsListen: string;
  /** The default server's certificate and key (one PEM file). */
  defaultCertificate: string;
  /** nginx's worker_processes. Default auto. */
  workerProcesses?: string;
  /** Log every request to stdout, in ingress-nginx's format. Default true. */
  accessLog?: boolean;
}

/**
 * The headers that tell the pod what the client asked for. Behind another proxy (use-forwarded-headers) the
 * X-Forwarded-* the client sent are passed on (its X-Forwarded-For list gets the client's address appended);
 * otherwise nginx's own view replaces them, so a client cannot forge them.
 */
function forwarded(s: Settings): { maps: string; proto: string; port: string; forwardedFor: string } {
  if (!s.useForwardedHeaders)
    return {
      maps: `    # The Host the client sent, port included (ingress-nginx's $best_http_host).
    map $http_host $best_http_host {
        default $http_host;
        '' $host;
    }`,
      proto: '$scheme',
      port: '$server_port',
      forwardedFor: '$remote_addr',
    };
  return {
    maps: `    # use-forwarded-headers: what the proxy in front was asked for, when it says.
    map $http_x_forwarded_host $best_http_host {
        default $http_x_forwarded_host;
        '' $http_host;
    }
    map $http_x_forwarded_proto $pass_access_scheme {
        default $http_x_forwarded_proto;
        '' $scheme;
    }
    map $http_x_forwarded_port $pass_server_port {
        default $http_x_forwarded_port;
        '' $server_port;
    }`,
    proto: '$pass_access_scheme',
    port: '$pass_server_port',
    forwardedFor: '$proxy_add_x_forwarded_for',
  };
}

export interface Conf {
  text: string;
  /** Line number (1-based) → the Ingress (`namespace/name`) whose configuration it is. */
  owners: Map<number, string>;
}

/** ingress-nginx's default TLS ciphers (Mozilla's intermediate set). */
const CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:' +
  'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384';

/** ingress-nginx's default access log format (log-format-upstream). */
const LOG_FORMAT =
  `'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ` +
  `$request_length $request_time [$proxy_upstream_name] [] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $request_id'`;

class Lines {
  readonly out: string[] = [];
  readonly owners = new Map<number, string>();
  add(text: string, owner?: string): void {
    for (const line of text.split('\n')) {
      this.out.push(line);
      if (owner) this.owners.set(this.out.length, owner);
    }
  }
}

/** A server_name: `*.example.com` matches one label only, as the Ingress specification says (nginx's own `*.` takes any depth). */
export function serverName(host: string): string {
  if (!host.startsWith('*.')) return host;
  return `~^[^.]+${host.slice(1).replace(/\./g, '\\.')}$`;
}

/**
 * ingress-nginx's rewrite since 0.22: the whole URI becomes the target, with
 * the path's capture groups (`/something(/|$)(.*)` → `/$2`). The older
 * annotation's rewrite replaced only the matched prefix (`/app/x` with target
 * `/` → `/x`), which manifests written for it expect.
 */
function rewrite(path: string, target: string, legacy: boolean): string {
  if (!legacy) return `rewrite "(?i)${path}" ${target} break;`;
  return `rewrite "(?i)^${path.replace(/\/$/, '')}(?:/(.*))?$" ${target.replace(/\/$/, '')}/$1 break;`;
}

function location(l: Location): string {
  const r = l.route;
  const head = l.modifier === '~*' ? `location ~* "${l.match}"` : l.modifier === '=' ? `location = ${l.match}` : `location ${l.match}`;
  const body = [`set $proxy_upstream_name "${r.target?.name ?? '-'}";`];
  if (r.sslRedirect) body.push('if ($scheme = http) {', '    return 308 https://$host$request_uri;', '}');
  if (!r.target) body.push('return 404;');
  else if (r.target.kind === 'unavailable') body.push('return 503;');
  else {
    if (r.rewrite !== undefined && r.rewrite !== r.path) body.push(rewrite(r.path, r.rewrite, r.legacyRewrite === true));
    body.push(`proxy_pass http://${r.target.name};`);
  }
  return [`${head} {`, ...body.map((b) => `    ${b}`), '}'].join('\n');
}

function server(lines: Lines, s: Server, o: ConfOptions): void {
  const catchAll = s.host === CATCH_ALL;
  const flags = catchAll ? ' default_server reuseport backlog=4096' : '';
  lines.add(`    server {`);
  lines.add(`        server_name ${catchAll ? '_' : serverName(s.host)};`);
  lines.add(`        listen ${o.httpListen}${flags};`);
  lines.add(`        listen ${o.httpsListen} ssl http2${flags};`);
  const cert = s.tls?.file.path ?? o.defaultCertificate;
  lines.add(`        ssl_certificate ${cert};\n        ssl_certificate_key ${cert};`, s.tls?.ingress);
  for (const l of s.locations) {
    lines.add('');
    lines.add(
      location(l)
        .split('\n')
        .map((x) => `        ${x}`)
        .join('\n'),
      l.route.ingress || undefined,
    );
  }
  lines.add('    }');
}

export function renderConf(model: Model, o: ConfOptions, s: Settings = DEFAULT_SETTINGS): Conf {
  const lines = new Lines();
  const temp = `${o.confDir}/temp`;
  const fw = forwarded(s);
  const onOff = (b: boolean) => (b ? 'on' : 'off');
  const accessLog = o.accessLog === false || s.disableAccessLog ? 'off' : '/dev/stdout upstreaminfo buffer=4k flush=1s';
  lines.add(`# Rendered by kemu's ingress controller (services/ingress) from the cluster's Ingresses, Services,
# EndpointSlices and Secrets; tested with nginx -t and loaded with a graceful reload on every change.
pid ${o.confDir}/nginx.pid;
worker_processes ${s.workerProcesses ?? o.workerProcesses ?? 'auto'};
error_log stderr notice;

events {
    worker_connections 16384;
    multi_accept on;
}

http {
    default_type text/html;
    server_tokens ${onOff(s.serverTokens)};
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout ${s.keepAlive}s;
    keepalive_requests ${s.keepAliveRequests};
    reset_timedout_connection on;
    client_max_body_size ${s.proxyBodySize};${s.enableUnderscoresInHeaders ? '\n    underscores_in_headers on;' : ''}
    server_names_hash_bucket_size 128;
    server_names_hash_max_size 4096;
    variables_hash_bucket_size 256;
    client_body_temp_path ${temp}/client-body;
    proxy_temp_path ${temp}/proxy;
    fastcgi_temp_path ${temp}/fastcgi;
    uwsgi_temp_path ${temp}/uwsgi;
    scgi_temp_path ${temp}/scgi;

    log_format upstreaminfo ${LOG_FORMAT};
    access_log ${accessLog};

    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers '${CIPHERS}';
    ssl_prefer_server_ciphers on;
    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 10m;

    # WebSockets: an Upgrade goes on to the pod; any other request clears Connection, so upstream connections stay open.
    map $http_upgrade $connection_upgrade {
        default upgrade;
        '' '';
    }
${fw.maps}

    proxy_http_version 1.1;
    proxy_set_header Host $best_http_host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header X-Request-ID $request_id;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For ${fw.forwardedFor};
    proxy_set_header X-Forwarded-Host $best_http_host;
    proxy_set_header X-Forwarded-Port ${fw.port};
    proxy_set_header X-Forwarded-Proto ${fw.proto};
    proxy_set_header X-Forwarded-Scheme ${fw.proto};
    proxy_set_header X-Scheme ${fw.proto};
    proxy_set_header X-Original-URI $request_uri;
    proxy_set_header Proxy "";
    proxy_connect_timeout ${s.proxyConnectTimeout}s;
    proxy_send_timeout ${s.proxySendTimeout}s;
    proxy_read_timeout ${s.proxyReadTimeout}s;
    proxy_buffering ${onOff(s.proxyBuffering)};
    proxy_redirect off;
    # A pod that refuses or does not answer the connection: the next one (ingress-nginx's defaults).
    proxy_next_upstream error timeout;
    proxy_next_upstream_tries ${s.proxyNextUpstreamTries};`);
  for (const [name, servers] of model.upstreams) {
    lines.add('');
    lines.add(`    upstream ${name} {`);
    for (const s of servers) lines.add(`        server ${s} max_fails=1 fail_timeout=10s;`);
    lines.add('        keepalive 320;\n        keepalive_timeout 60s;\n        keepalive_requests 10000;\n    }');
  }
  for (const s of model.servers) {
    lines.add('');
    server(lines, s, o);
  }
  lines.add('}');
  return { text: `${lines.out.join('\n')}\n`, owners: lines.owners };
}
