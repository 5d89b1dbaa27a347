import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findUp } from './find-up.js';

const root = mkdtempSync(join(tmpdir(), 'kemu-find-up-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('findUp', () => {
  mkdirSync(join(root, 'services/apiserver/dist/openapi'), { recursive: true });
  mkdirSync(join(root, 'services/apiserver/src/openapi'), { recursive: true });
  mkdirSync(join(root, 'images'), { recursive: true });
  writeFileSync(join(root, 'services/apiserver/src/openapi/definitions.json'), '{}');

  it('finds the same file from a nested module and from a bundle one level up', () => {
    const want = join(root, 'services/apiserver/src/openapi/definitions.json');
    expect(findUp(join(root, 'services/apiserver/dist/openapi'), 'src/openapi/definitions.json')).toBe(want);
    expect(findUp(join(root, 'services/apiserver/dist'), 'src/openapi/definitions.json')).toBe(want);
  });

  it('finds a directory of an ancestor, and nothing that is not there', () => {
    expect(findUp(join(root, 'services/apiserver/dist'), 'images')).toBe(join(root, 'images'));
    expect(findUp(join(root, 'services/apiserver/dist'), 'no-such-file-kemu')).toBeUndefined();
  });
});
