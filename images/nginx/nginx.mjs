#!/usr/bin/env node
// The `nginx` image: serves the stock welcome page (or files under
// /usr/share/nginx/html when a volume puts some there) on port 80, and on 443
// too when a certificate and key are mounted at /etc/nginx/ssl. Logs like
// nginx's access log; stops on SIGTERM / SIGQUIT as nginx does.
import http from 'node:http';
import https from 'node:https';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const WELCOME = readFileSync(join(here, 'index.html'));
const ROOT = '/usr/share/nginx/html';
const port = Number(process.env.NGINX_PORT ?? 80);
const tlsPort = Number(process.env.NGINX_TLS_PORT ?? 443);

function handler(req, res) {
  const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
  let body = null;
  const file = join(ROOT, path.endsWith('/') ? `${path}index.html` : path);
  if (file.startsWith(ROOT) && existsSync(file) && statSync(file).isFile()) body = readFileSync(file);
  else if (path === '/' || path === '/index.html') body = WELCOME;
  const status = body ? 200 : 404;
  if (!body) body = Buffer.from('<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.27.0</center>\r\n</body>\r\n</html>\r\n');
  res.writeHead(status, { Server: 'nginx/1.27.0', 'Content-Type': 'text/html', 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
  const addr = (req.socket.remoteAddress ?? '').replace('::ffff:', '');
  process.stdout.write(`${addr} - - [${new Date().toUTCString()}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${body.length} "-" "${req.headers['user-agent'] ?? '-'}"\n`);
}

const servers = [http.createServer(handler).listen(port)];
const cert = ['/etc/nginx/ssl/tls.crt', '/etc/nginx/ssl/nginx.crt'].find(existsSync);
const key = ['/etc/nginx/ssl/tls.key', '/etc/nginx/ssl/nginx.key'].find(existsSync);
if (cert && key) servers.push(https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, handler).listen(tlsPort));
process.stderr.write(`nginx: ready on ${servers.length > 1 ? `${port} and ${tlsPort}` : port}\n`);
for (const sig of ['SIGTERM', 'SIGQUIT', 'SIGINT']) process.on(sig, () => process.exit(0));
