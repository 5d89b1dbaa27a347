#!/usr/bin/env node
// registry.k8s.io/e2e-test-images/agnhost: the Kubernetes conformance tests'
// Swiss army knife, with the subcommands kemu's users and tests rely on:
// netexec, serve-hostname, pause, connect, dns-suffix, dns-server-list,
// etc-hosts, porter, test-webserver, liveness. Flags as Go's flag package
// reads them (--name=value, --name value, -name; booleans --name[=false]).
import http from 'node:http';
import https from 'node:https';
import dgram from 'node:dgram';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, normalize } from 'node:path';

const [sub, ...rest] = process.argv.slice(2);

function flags(args, defaults) {
  const out = { ...defaults, _: [] };
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([\w-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m) {
      out._.push(args[i]);
      continue;
    }
    const key = m[1];
    if (m[2] !== undefined) out[key] = m[2];
    else if (typeof defaults[key] === 'boolean') out[key] = true;
    else out[key] = args[++i];
  }
  for (const [k, v] of Object.entries(defaults)) if (typeof v === 'boolean' && typeof out[k] === 'string') out[k] = out[k] !== 'false';
  return out;
}

const log = (...a) => console.log(new Date().toISOString().replace('T', ' ').replace('Z', ''), ...a);
const onStop = (fn) => ['SIGTERM', 'SIGINT'].forEach((s) => process.on(s, fn));
const duration = (s) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(s ?? ''));
  return m ? Number(m[1]) * ({ ms: 1, s: 1000, m: 60000 }[m[2] ?? 's']) : 5000;
};
const clientIP = (sock) => `${(sock.remoteAddress ?? '').replace('::ffff:', '')}:${sock.remotePort}`;

function dialOnce(protocol, host, port, request, timeout = 5000) {
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      const t = setTimeout(() => (s.close(), resolve({ error: `reading from udp connection failed. err:'read udp: i/o timeout'` })), timeout);
      s.on('message', (m) => (clearTimeout(t), s.close(), resolve({ response: m.toString().trim() })));
      s.on('error', (e) => (clearTimeout(t), s.close(), resolve({ error: e.message })));
      s.send(request, Number(port), host);
      return;
    }
    const req = http.get({ host, port: Number(port), path: `/${request.replace(/^\//, '')}`, timeout }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ response: body.trim() }));
    });
    req.on('timeout', () => (req.destroy(), resolve({ error: `Get "http://${host}:${port}/${request}": context deadline exceeded` })));
    req.on('error', (e) => resolve({ error: `Get "http://${host}:${port}/${request}": ${e.message}` }));
  });
}

function netexec(args) {
  const f = flags(args, { 'http-port': '8080', 'udp-port': '8081', 'sctp-port': '-1', 'delay-shutdown': '0', 'http-override': '', 'certFile': '', 'privKeyFile': '' });
  let shuttingDown = false;
  const json = (res, code, obj) => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  const handler = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const p = f['http-override'] || url.pathname;
    switch (p) {
      case '/':
        return res.end(`NOW: ${new Date().toISOString()}`);
      case '/hostname':
        return res.end(hostname());
      case '/clientip':
        return res.end(clientIP(req.socket));
      case '/echo':
        return res.end(q.get('msg') ?? '');
      case '/header':
        return res.end(String(req.headers[(q.get('key') ?? '').toLowerCase()] ?? ''));
      case '/healthz':
        return res.end('ok');
      case '/readyz':
        res.writeHead(shuttingDown ? 503 : 200);
        return res.end(shuttingDown ? 'shutting down' : 'ok');
      case '/exit': {
        const code = Number(q.get('code') ?? 0);
        res.end();
        return setTimeout(() => process.exit(code), 10);
      }
      case '/shell':
        return execFile('/bin/sh', ['-c', q.get('cmd') ?? q.get('shellCommand') ?? ''], (err, stdout, stderr) => json(res, 200, { output: stdout + stderr, ...(err ? { error: String(err.message) } : {}) }));
      case '/dial': {
        const tries = Number(q.get('tries') ?? 1);
        const out = { responses: [], errors: [] };
        for (let i = 0; i < tries; i++) {
          const r = await dialOnce(q.get('protocol') ?? 'http', q.get('host'), q.get('port'), q.get('request') ?? 'hostname');
          if (r.error) out.errors.push(r.error);
          else out.responses.push(r.response);
        }
        return json(res, 200, out);
      }
      default:
        res.writeHead(404);
        return res.end('404 page not found\n');
    }
  };
  const tls = f.certFile && f.privKeyFile ? { cert: readFileSync(f.certFile), key: readFileSync(f.privKeyFile) } : null;
  (tls ? https.createServer(tls, handler) : http.createServer(handler)).listen(Number(f['http-port']), () => log(`Started HTTP server on port ${f['http-port']}`));
  if (Number(f['udp-port']) > 0) {
    const u = dgram.createSocket('udp4');
    u.on('message', (m, rinfo) => {
      const s = m.toString().trim();
      const reply = s === 'hostname' ? hostname() : s.startsWith('echo ') ? s.slice(5) : s === 'clientip' ? `${rinfo.address}:${rinfo.port}` : '';
      u.send(reply, rinfo.port, rinfo.address);
    });
    u.bind(Number(f['udp-port']), () => log(`Started UDP server on port ${f['udp-port']}`));
  }
  onStop(() => {
    shuttingDown = true;
    setTimeout(() => process.exit(0), Number(f['delay-shutdown']) * 1000);
  });
}

function serveHostname(args) {
  const f = flags(args, { port: '9376', http: true, tcp: false, udp: false, 'exit-after-seconds': '0' });
  const port = Number(f.port);
  const name = hostname();
  if (f.tcp) net.createServer((s) => s.end(name)).listen(port);
  if (f.udp) {
    const u = dgram.createSocket('udp4');
    u.on('message', (_m, r) => u.send(name, r.port, r.address));
    u.bind(port);
  }
  if (f.http && !f.tcp && !f.udp) http.createServer((_q, s) => s.end(name)).listen(port);
  log(`Serving on port ${port}.`);
  if (Number(f['exit-after-seconds']) > 0) setTimeout(() => process.exit(0), Number(f['exit-after-seconds']) * 1000);
  onStop(() => process.exit(0));
}

function connect(args) {
  const f = flags(args, { timeout: '5s', protocol: 'tcp' });
  const target = f._[0] ?? '';
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i);
  const port = Number(target.slice(i + 1));
  const s = net.connect({ host, port });
  const t = setTimeout(() => (console.error('TIMEOUT'), process.exit(1)), duration(f.timeout));
  s.on('connect', () => (clearTimeout(t), s.destroy(), process.exit(0)));
  s.on('error', (e) => {
    clearTimeout(t);
    console.error(e.code === 'ECONNREFUSED' ? 'REFUSED' : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'DNS' : 'OTHER');
    process.exit(1);
  });
}

function resolvConf() {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

function porter() {
  const ports = Object.entries(process.env).filter(([k]) => /^SERVE_(TLS_)?PORT_\d+$/.test(k));
  for (const [k, v] of ports) {
    const port = Number(k.split('_').pop());
    const h = (_q, s) => s.end(v);
    if (k.includes('TLS')) https.createServer({ cert: readFileSync(process.env.CERT_FILE ?? '/localhost.crt'), key: readFileSync(process.env.KEY_FILE ?? '/localhost.key') }, h).listen(port);
    else http.createServer(h).listen(port);
    log(`Serving ${v} on port ${port}`);
  }
  onStop(() => process.exit(0));
}

function testWebserver(args) {
  const f = flags(args, { port: '80' });
  http
    .createServer((req, res) => {
      const p = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      if (existsSync(p) && statSync(p).isFile()) return res.end(readFileSync(p));
      res.writeHead(404);
      res.end('404 page not found\n');
    })
    .listen(Number(f.port), () => log(`Serving on port ${f.port}`));
  onStop(() => process.exit(0));
}

function liveness() {
  const started = Date.now();
  http
    .createServer((req, res) => {
      if (req.url?.startsWith('/healthz') && Date.now() - started > 10_000) {
        res.writeHead(500);
        return res.end(`error: ${(Date.now() - started) / 1000}`);
      }
      res.end('ok');
    })
    .listen(8080);
  onStop(() => process.exit(0));
}

const commands = {
  netexec: () => netexec(rest),
  'serve-hostname': () => serveHostname(rest),
  pause: () => {
    log('Paused');
    onStop(() => process.exit(0));
    setInterval(() => {}, 1 << 30);
  },
  connect: () => connect(rest),
  'dns-suffix': () => console.log((/^search\s+(.*)$/m.exec(resolvConf())?.[1] ?? '').trim().split(/\s+/).join(',')),
  'dns-server-list': () => console.log([...resolvConf().matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]).join(',')),
  'etc-hosts': () => process.stdout.write(readFileSync('/etc/hosts', 'utf8')),
  porter,
  'test-webserver': () => testWebserver(rest),
  liveness,
};

if (!sub || !commands[sub]) {
  console.log(`Usage:\n  agnhost [command]\n\nAvailable Commands:\n  ${Object.keys(commands).sort().join('\n  ')}`);
  process.exit(sub ? 1 : 0);
}
commands[sub]();
