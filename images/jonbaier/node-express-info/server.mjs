#!/usr/bin/env node
// jonbaier/node-express-info (and node-express-multi, which also listens on
// 8888): a page naming the pod that served it, from "Getting Started with
// Kubernetes". Ports come from the arguments (default 80).
import http from 'node:http';
import { hostname, networkInterfaces } from 'node:os';

const ports = process.argv.slice(2).map(Number).filter((n) => n > 0);
const ip = () => Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '';
for (const port of ports.length ? ports : [80]) {
  http
    .createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<html><head><title>Node JS Info</title></head><body><h1>Hello from ${hostname()}</h1><p>Pod IP: ${ip()}</p><p>Port: ${port}</p><p>Path: ${req.url}</p></body></html>\n`);
    })
    .listen(port, () => console.log(`Listening on port ${port}`));
}
['SIGTERM', 'SIGINT'].forEach((s) => process.on(s, () => process.exit(0)));
