import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RotatingFile, backupName } from './rotating-file.js';

describe('the audit log rotation (--audit-log-maxsize, --audit-log-maxbackup)', () => {
  it('names backups as lumberjack does', () => {
    expect(backupName('/var/log/audit.log', new Date('2026-11-30T01:02:03.456Z'))).toBe('/var/log/audit-2026-11-30T01-02-03.456.log');
  });

  it('rotates before a line would pass the size, keeps the newest backups, loses no line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kemu-audit-rotate-'));
    try {
      let t = Date.parse('2026-11-30T00:00:00Z');
      const f = new RotatingFile(join(dir, 'audit.log'), 1, 2, () => new Date((t += 1000)));
      const line = 'x'.repeat(1023) + '\n';
      for (let i = 0; i < 4 * 1024 + 10; i++) f.write(line);
      f.end();
      const files = readdirSync(dir).sort();
      expect(files).toEqual(['audit-2026-11-30T00-00-03.000.log', 'audit-2026-11-30T00-00-04.000.log', 'audit.log']);
      for (const b of files.slice(0, 2)) expect(readFileSync(join(dir, b)).length).toBe(1024 * 1024);
      expect(readFileSync(join(dir, 'audit.log')).length).toBe(10 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
