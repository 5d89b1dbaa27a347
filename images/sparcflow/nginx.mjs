#!/usr/bin/env node
// sparcflow/nginx: an nginx configured to listen on 8080 with a one-line page.
import http from 'node:http';

http
  .createServer((req, res) => {
    res.writeHead(200, { Server: 'nginx/1.25.3', 'Content-Type': 'text/html' });
    res.end('<h1>Listening on port 8080</h1>\n');
    process.stdout.write(`${(req.socket.remoteAddress ?? '').replace('::ffff:', '')} - - [${new Date().toUTCString()}] "${req.method} ${req.url} HTTP/${req.httpVersion}" 200 32 "-" "${req.headers['user-agent'] ?? '-'}"\n`);
  })
  .listen(8080);
['SIGTERM', 'SIGQUIT', 'SIGINT'].forEach((s) => process.on(s, () => process.exit(0)));
