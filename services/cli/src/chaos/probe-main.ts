#!/usr/bin/env node
/**
 * The built-in Service probe of `kemu chaos --watch`, run inside a node's
 * network namespace: every 100 ms, for each `name=ip:port` argument, one new
 * TCP connection to the Service (a new source port each time, so kube-proxy
 * chooses an endpoint anew, as for a client's new requests). A connection
 * that is not established within a second, or is refused or reset, failed.
 * One line per request on stdout: `name ok` or `name fail`.
 */
import { connect } from 'node:net';

const PERIOD_MS = 100;
const TIMEOUT_MS = 1000;

const targets = process.argv.slice(2).map((a) => {
  const [name, addr] = a.split('=');
  const at = addr.lastIndexOf(':');
  return { name, host: addr.slice(0, at), port: Number(addr.slice(at + 1)) };
});

function once(t: { name: string; host: string; port: number }): void {
  const s = connect({ host: t.host, port: t.port });
  let done = false;
  const finish = (ok: boolean) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    s.destroy();
    process.stdout.write(`${t.name} ${ok ? 'ok' : 'fail'}\n`);
  };
  const timer = setTimeout(() => finish(false), TIMEOUT_MS);
  s.on('connect', () => finish(true));
  s.on('error', () => finish(false));
}

setInterval(() => targets.forEach(once), PERIOD_MS);
process.on('SIGTERM', () => process.exit(0));
