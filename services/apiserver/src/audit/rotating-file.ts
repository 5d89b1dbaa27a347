/**
 * The audit log file, rotated as kube-apiserver rotates its own (--audit-log-maxsize, --audit-log-maxbackup; its
 * lumberjack logger): a write that would take the file past maxsize megabytes first renames it with the time of
 * the rotation (`audit-2026-11-30T01-02-03.456.log`, lumberjack's layout, UTC) and starts a new one; of the
 * renamed files, the newest maxbackup are kept (0: all). maxsize 0 means lumberjack's default, 100 MB.
 * Writes are synchronous: an event is a line of a few hundred bytes, and a full disk or a removed directory costs
 * the event, never the api-server.
 */
import { closeSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

const MB = 1024 * 1024;
const DEFAULT_MAX_MB = 100;

/** lumberjack's backup name: `<name>-<2006-01-02T15-04-05.000><ext>` beside the file. */
export function backupName(path: string, at: Date): string {
  const ext = extname(path);
  const stamp = at.toISOString().slice(0, 23).replace(/:/g, '-');
  return join(dirname(path), `${basename(path, ext)}-${stamp}${ext}`);
}

export class RotatingFile {
  private fd: number | undefined;
  private size = 0;
  private readonly maxBytes: number;

  constructor(
    private readonly path: string,
    maxSizeMB = 0,
    private readonly maxBackups = 0,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.maxBytes = (maxSizeMB > 0 ? maxSizeMB : DEFAULT_MAX_MB) * MB;
  }

  write(line: string): void {
    try {
      const n = Buffer.byteLength(line);
      if (this.fd === undefined) this.openFile();
      if (this.size > 0 && this.size + n > this.maxBytes) this.rotate();
      writeSync(this.fd!, line);
      this.size += n;
    } catch {
      // A full disk or a removed directory: this event is lost, the api-server goes on.
      this.end();
    }
  }

  end(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private openFile(): void {
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = statSync(this.path).size;
  }

  private rotate(): void {
    this.end();
    renameSync(this.path, backupName(this.path, this.now()));
    this.openFile();
    if (this.maxBackups > 0) {
      const ext = extname(this.path);
      const prefix = `${basename(this.path, ext)}-`;
      // The time in the names sorts as text.
      const backups = readdirSync(dirname(this.path))
        .filter((f) => f.startsWith(prefix) && f.endsWith(ext))
        .sort();
      for (const old of backups.slice(0, Math.max(0, backups.length - this.maxBackups))) unlinkSync(join(dirname(this.path), old));
    }
  }
}
