import { describe, expect, it } from 'vitest';
import { containerArgv, ImageNotFoundError, lookupImage } from './catalog.js';

describe('image catalog', () => {
  it('resolves the references tutorials use', () => {
    for (const ref of ['nginx', 'nginx:1.25', 'docker.io/library/nginx:latest']) expect(lookupImage(ref, '/img').cmd).toEqual([process.execPath, '/img/nginx/nginx.mjs']);
    expect(lookupImage('nginx:1.25', '/img').canonical).toBe('docker.io/library/nginx:1.25');
    expect(lookupImage('registry.k8s.io/pause:3.10', '/img').entrypoint).toEqual(['/bin/sh', '/img/pause/pause.sh']);
    expect(lookupImage('busybox').cmd).toEqual(['sh']);
  });
  it('fails like a missing image', () => {
    expect(() => lookupImage('nosuch/image:1')).toThrow(ImageNotFoundError);
    expect(() => lookupImage('nosuch/image:1')).toThrow('failed to pull and unpack image "nosuch/image:1"');
  });
  it.each([
    [[], undefined, undefined, ['sh']],
    [['/entry'], undefined, undefined, ['/entry']],
    [['/entry'], undefined, ['-v'], ['/entry', '-v']],
    [['/entry'], ['sleep'], undefined, ['sleep']],
    [['/entry'], ['sleep'], ['10'], ['sleep', '10']],
  ])('entrypoint %j command %j args %j', (entrypoint, command, args, want) => {
    expect(containerArgv({ entrypoint, cmd: entrypoint.length ? [] : ['sh'], ports: [] }, command, args)).toEqual(want);
  });
});
