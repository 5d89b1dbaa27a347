#!/usr/bin/env node
// The 404-server of gcr.io/google_containers/defaultbackend (1.x), the default backend of ingress-nginx's
// manifests until 0.2x: every path answers 404 "default backend - 404", /healthz answers 200 "ok", on 8080
// (or --port). The image's program is Go's; this is the same behaviour in Node.
import http from 'node:http';

const flag = process.argv.slice(2).find((a) => a.startsWith('--port='));
const port = flag ? Number(flag.slice('--port='.length)) : 8080;
http
  .createServer((req, res) => {
    const healthz = (req.url ?? '').split('?')[0] === '/healthz';
    res.writeHead(healthz ? 200 : 404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(healthz ? 'ok' : 'default backend - 404');
  })
  .listen(port);
['SIGTERM', 'SIGINT'].forEach((s) => process.on(s, () => process.exit(0)));
