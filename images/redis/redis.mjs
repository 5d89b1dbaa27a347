#!/usr/bin/env node
// The `redis` image: a RESP server on 6379 with the everyday commands a
// client needs — PING, ECHO, SET (EX/PX/NX/XX), GET, DEL, EXISTS, INCR,
// INCRBY, DECR, KEYS, EXPIRE, TTL, DBSIZE, FLUSHALL, INFO, COMMAND, SELECT,
// QUIT — also as inline commands (redis-cli, telnet, nc). In memory only.
import net from 'node:net';

const port = Number(process.argv.includes('--port') ? process.argv[process.argv.indexOf('--port') + 1] : 6379);
const data = new Map();
const expires = new Map();
const live = (k) => {
  const e = expires.get(k);
  if (e !== undefined && e <= Date.now()) {
    data.delete(k);
    expires.delete(k);
  }
  return data.has(k);
};
const bulk = (s) => (s === null || s === undefined ? '$-1\r\n' : `$${Buffer.byteLength(s)}\r\n${s}\r\n`);
const int = (n) => `:${n}\r\n`;
const err = (m) => `-${m}\r\n`;
const arr = (xs) => `*${xs.length}\r\n${xs.map(bulk).join('')}`;
const glob = (p) => new RegExp(`^${p.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

function run(argv) {
  const [cmd0, ...a] = argv;
  const cmd = String(cmd0 ?? '').toUpperCase();
  const wrong = () => err(`ERR wrong number of arguments for '${cmd.toLowerCase()}' command`);
  switch (cmd) {
    case 'PING':
      return a.length ? bulk(a[0]) : '+PONG\r\n';
    case 'ECHO':
      return a.length === 1 ? bulk(a[0]) : wrong();
    case 'SET': {
      if (a.length < 2) return wrong();
      const [k, v, ...opts] = a;
      const o = opts.map((x) => x.toUpperCase());
      if (o.includes('NX') && live(k)) return '$-1\r\n';
      if (o.includes('XX') && !live(k)) return '$-1\r\n';
      data.set(k, v);
      expires.delete(k);
      const ex = o.indexOf('EX');
      const px = o.indexOf('PX');
      if (ex >= 0) expires.set(k, Date.now() + Number(opts[ex + 1]) * 1000);
      if (px >= 0) expires.set(k, Date.now() + Number(opts[px + 1]));
      return '+OK\r\n';
    }
    case 'GET':
      return a.length === 1 ? bulk(live(a[0]) ? data.get(a[0]) : null) : wrong();
    case 'DEL':
    case 'UNLINK':
      return int(a.filter((k) => live(k) && (data.delete(k), expires.delete(k), true)).length);
    case 'EXISTS':
      return int(a.filter(live).length);
    case 'INCR':
    case 'DECR':
    case 'INCRBY':
    case 'DECRBY': {
      const k = a[0];
      const by = cmd.endsWith('BY') ? Number(a[1]) : 1;
      const cur = live(k) ? data.get(k) : '0';
      if (!/^-?\d+$/.test(cur) || !Number.isInteger(by)) return err('ERR value is not an integer or out of range');
      const n = Number(cur) + (cmd.startsWith('DECR') ? -by : by);
      data.set(k, String(n));
      return int(n);
    }
    case 'KEYS': {
      const re = glob(a[0] ?? '*');
      return arr([...data.keys()].filter((k) => live(k) && re.test(k)));
    }
    case 'EXPIRE':
      if (!live(a[0])) return int(0);
      expires.set(a[0], Date.now() + Number(a[1]) * 1000);
      return int(1);
    case 'TTL':
      if (!live(a[0])) return int(-2);
      return int(expires.has(a[0]) ? Math.ceil((expires.get(a[0]) - Date.now()) / 1000) : -1);
    case 'DBSIZE':
      return int([...data.keys()].filter(live).length);
    case 'FLUSHALL':
    case 'FLUSHDB':
      data.clear();
      expires.clear();
      return '+OK\r\n';
    case 'SELECT':
      return '+OK\r\n';
    case 'INFO':
      return bulk(`# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\ntcp_port:${port}\r\n# Keyspace\r\ndb0:keys=${data.size},expires=${expires.size}\r\n`);
    case 'COMMAND':
      return '*0\r\n';
    case 'CLIENT':
    case 'HELLO':
      return cmd === 'HELLO' ? err('NOPROTO unsupported protocol version') : '+OK\r\n';
    default:
      return err(`ERR unknown command '${cmd0}', with args beginning with: ${a.map((x) => `'${x}'`).join(' ')}`);
  }
}

/** Parse as many complete commands as the buffer holds: RESP arrays or inline lines. */
function parse(buf) {
  const cmds = [];
  let off = 0;
  for (;;) {
    if (off >= buf.length) break;
    if (buf[off] === 0x2a /* * */) {
      const nl = buf.indexOf('\r\n', off);
      if (nl < 0) break;
      const n = Number(buf.subarray(off + 1, nl).toString());
      let p = nl + 2;
      const args = [];
      let complete = true;
      for (let i = 0; i < n; i++) {
        const nl2 = buf.indexOf('\r\n', p);
        if (nl2 < 0 || buf[p] !== 0x24) { complete = false; break; }
        const len = Number(buf.subarray(p + 1, nl2).toString());
        if (nl2 + 2 + len + 2 > buf.length) { complete = false; break; }
        args.push(buf.subarray(nl2 + 2, nl2 + 2 + len).toString());
        p = nl2 + 2 + len + 2;
      }
      if (!complete) break;
      cmds.push(args);
      off = p;
    } else {
      const nl = buf.indexOf('\n', off);
      if (nl < 0) break;
      const line = buf.subarray(off, nl).toString().trim();
      if (line) cmds.push(line.split(/\s+/));
      off = nl + 1;
    }
  }
  return { cmds, rest: buf.subarray(off) };
}

net
  .createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      const r = parse(Buffer.concat([buf, d]));
      buf = r.rest;
      for (const c of r.cmds) {
        if (String(c[0]).toUpperCase() === 'QUIT') return sock.end('+OK\r\n');
        sock.write(run(c));
      }
    });
    sock.on('error', () => undefined);
  })
  .listen(port, () => console.log(`1:M ${new Date().toUTCString()} * Ready to accept connections tcp`));
['SIGTERM', 'SIGINT'].forEach((s) => process.on(s, () => process.exit(0)));
