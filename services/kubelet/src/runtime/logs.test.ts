import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogPump, formatEntry, parseLog, renderLog } from './logs.js';

const log = [
  { time: '2026-01-01T00:00:01.000000000Z', stream: 'stdout', partial: false, text: 'one' },
  { time: '2026-01-01T00:00:02.000000000Z', stream: 'stderr', partial: true, text: 'tw' },
  { time: '2026-01-01T00:00:03.000000000Z', stream: 'stderr', partial: false, text: 'o' },
  { time: '2026-01-01T00:00:04.000000000Z', stream: 'stdout', partial: false, text: 'three has  spaces ' },
] as const;
const text = log.map((e) => formatEntry({ ...e })).join('');

describe('CRI logs', () => {
  it('round-trips entries, spaces kept', () => {
    expect(parseLog(text)).toEqual(log);
  });
  it('renders lines with partials joined, tail, since and timestamps as kubectl logs shows them', () => {
    expect(renderLog(text)).toBe('one\ntwo\nthree has  spaces \n');
    expect(renderLog(text, { tailLines: 2 })).toBe('two\nthree has  spaces \n');
    expect(renderLog(text, { tailLines: 0 })).toBe('');
    expect(renderLog(text, { sinceTime: '2026-01-01T00:00:03Z' })).toBe('o\nthree has  spaces \n');
    expect(renderLog(text, { timestamps: true, tailLines: 1 })).toBe('2026-01-01T00:00:04.000000000Z three has  spaces \n');
    expect(renderLog(text, { limitBytes: 5 })).toBe('one\nt');
  });
  it('ignores lines that are not CRI entries', () => {
    expect(parseLog('garbage\n\n')).toEqual([]);
  });
});

describe('LogPump', () => {
  it('keeps up with writers faster than a pipe per pause, each container its own lines (one read buffer for all)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kemu-logpump-'));
    try {
      // Two containers, each writing 4 MiB of lines as fast as it can: more than a 64 KiB pipe every 10 ms pause.
      const lines = 32_768;
      const pumps = ['a', 'b'].map((name) => {
        execFileSync('mkfifo', [join(dir, name)]);
        const pump = new LogPump(join(dir, `${name}.log`), { out: join(dir, name) });
        const script = `const fs = require('fs'); const fd = fs.openSync(process.argv[1], 'w');
          const line = process.argv[2].repeat(127) + '\\n'; for (let i = 0; i < ${lines}; i++) fs.writeSync(fd, line);`;
        const writer = spawn(process.execPath, ['-e', script, join(dir, name), name]);
        return { name, pump, done: new Promise((r) => writer.on('exit', r)) };
      });
      for (const p of pumps) {
        await p.done;
        await p.pump.close();
        const entries = parseLog(readFileSync(join(dir, `${p.name}.log`), 'utf8'));
        expect(entries).toHaveLength(lines);
        expect(entries.every((e) => e.text === p.name.repeat(127) && !e.partial)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
