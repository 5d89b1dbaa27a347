import { describe, expect, it } from 'vitest';
import { chooseImageFrom, contextPaths, hostTreeFits } from './image.js';

describe('hostTreeFits', () => {
  it.each([
    ['linux', 'x64', 'v20.19.2', true],
    ['linux', 'x64', 'v22.1.0', false],
    ['darwin', 'arm64', 'v20.19.2', false],
    ['linux', 'arm64', 'v20.19.2', false],
  ])('%s %s node %s → %s', (platform, arch, version, fits) => expect(hostTreeFits(platform, arch, version)).toBe(fits));
});

describe('chooseImageFrom', () => {
  it('takes the host tree where it fits and is built, else the sources', () => {
    expect(chooseImageFrom(undefined, true, true)).toBe('host');
    expect(chooseImageFrom(undefined, true, false)).toBe('source');
    expect(chooseImageFrom(undefined, false, true)).toBe('source');
  });
  it('follows KEMU_IMAGE_FROM, and refuses host where it cannot work', () => {
    expect(chooseImageFrom('source', true, true)).toBe('source');
    expect(chooseImageFrom('host', true, true)).toBe('host');
    expect(() => chooseImageFrom('host', false, true)).toThrow(/not built, or this host/);
    expect(() => chooseImageFrom('hots', true, true)).toThrow(/not one of host, source/);
  });
});

describe('contextPaths', () => {
  it('keeps the tree but its metadata and node_modules, then each production dependency once', () => {
    const top = ['.git', '.turbo', 'node_modules', '.dockerignore', 'services', 'compose', 'package.json'];
    const deps = ['node_modules/@kemu/api', 'node_modules/pino', 'node_modules/pino/node_modules/sonic-boom', 'node_modules/pino', 'services/cli'];
    expect(contextPaths(top, deps)).toEqual(['compose', 'package.json', 'services', 'node_modules/@kemu/api', 'node_modules/pino']);
  });
});
