/**
 * The real nginx the controller drives (Debian's): a master process in the
 * foreground as the controller's child, its output on the controller's own
 * stdout and stderr (so `kubectl logs` shows the access log), configuration
 * files under one directory. A configuration is first tested (`nginx -t` on
 * a copy) and only then put in place and loaded with SIGHUP, nginx's
 * graceful reload: new workers take new connections while the old ones
 * finish the requests in flight. A configuration the test refuses is never
 * put in place, so the running one keeps serving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';

export interface NginxOptions {
  /** The nginx binary. Default `nginx` (Debian's, on PATH). */
  binary?: string;
  /** Where nginx.conf, the certificates (ssl/) and nginx's temporary files (temp/) go. */
  confDir: string;
  log: Logger;
}

export type TestResult = { ok: true } | { ok: false; output: string; line?: number };

/**
 * What a child process wrote on stderr and how it ended. Its stdout is
 * /dev/null, not a pipe: Node's pipes are sockets, which nginx -t cannot
 * open as its access log (/dev/stdout) the way it opens a FIFO or a file.
 */
function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    p.on('error', (e) => resolve({ code: -1, output: e.message }));
    p.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * The default server's certificate, made once: self-signed, with the names
 * of ingress-nginx's own ("Kubernetes Ingress Controller Fake Certificate"),
 * so a client reaching a host without a certificate sees what it would see
 * in a real cluster. One PEM file with certificate and key.
 */
export async function ensureFakeCertificate(file: string, openssl = 'openssl'): Promise<void> {
  if (existsSync(file)) return;
  const dir = file.slice(0, file.lastIndexOf('/'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const [crt, key] = [`${file}.crt`, `${file}.key`];
  const subj = '/O=Acme Co/CN=Kubernetes Ingress Controller Fake Certificate';
  const r = await run(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', subj, '-keyout', key, '-out', crt]);
  try {
    if (r.code !== 0) throw new Error(`openssl could not make the default certificate: ${r.output.trim()}`);
    writeFileSync(file, readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'), { mode: 0o600 });
  } finally {
    rmSync(crt, { force: true });
    rmSync(key, { force: true });
  }
}

export class Nginx {
  readonly confFile: string;
  private readonly nextFile: string;
  private readonly binary: string;
  private master?: ChildProcess;
  private exit?: Promise<number | null>;

  constructor(private o: NginxOptions) {
    this.binary = o.binary ?? 'nginx';
    this.confFile = `${o.confDir}/nginx.conf`;
    this.nextFile = `${o.confDir}/nginx.conf.next`;
    // Workers run as an unprivileged user and keep request bodies in temp/; only the master reads ssl/.
    mkdirSync(`${o.confDir}/temp`, { recursive: true, mode: 0o755 });
    mkdirSync(`${o.confDir}/ssl`, { recursive: true, mode: 0o700 });
  }

  /** The master's pid, while it runs. */
  get pid(): number | undefined {
    return this.master && this.master.exitCode === null && this.master.signalCode === null ? this.master.pid : undefined;
  }

  /** Resolves when the master exits (with its code), once started. */
  get exited(): Promise<number | null> | undefined {
    return this.exit;
  }

  /** Test `text` as nginx.conf; on failure, nginx's message and the line of the file it names. */
  async test(text: string): Promise<TestResult> {
    writeFileSync(this.nextFile, text);
    const r = await run(this.binary, ['-e', 'stderr', '-t', '-q', '-c', this.nextFile]);
    if (r.code === 0) return { ok: true };
    const at = r.output.match(new RegExp(`in ${this.nextFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+)`));
    return { ok: false, output: r.output.trim(), ...(at ? { line: Number(at[1]) } : {}) };
  }

  /** Put the configuration last tested in place and load it: start the master, or reload it gracefully. */
  async load(): Promise<void> {
    renameSync(this.nextFile, this.confFile);
    const pid = this.pid;
    if (pid) {
      process.kill(pid, 'SIGHUP');
      return;
    }
    await this.start();
  }

  private async start(): Promise<void> {
    const pidFile = `${this.o.confDir}/nginx.pid`;
    const master = spawn(this.binary, ['-e', 'stderr', '-c', this.confFile, '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] });
    this.master = master;
    this.exit = new Promise((resolve) => master.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
    master.on('error', (err) => this.o.log.error({ err }, 'nginx could not start'));
    // The master writes its pid file once its sockets listen: from then on it serves.
    const deadline = Date.now() + 10_000;
    while (this.pid) {
      if (existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() === String(master.pid)) {
        this.o.log.info({ pid: master.pid }, 'nginx started');
        return;
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`nginx did not start (exit ${master.exitCode ?? master.signalCode ?? 'none'})`);
  }

  /** Graceful stop (SIGQUIT: workers finish their requests), then a fast one after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const pid = this.pid;
    if (!pid || !this.exit) return;
    process.kill(pid, 'SIGQUIT');
    const timer = setTimeout(() => this.pid && process.kill(pid, 'SIGTERM'), graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}
