import { describe, expect, it } from 'vitest';
import { resourceVerb } from './verbs.js';

describe('resourceVerb', () => {
  it.each([
    ['GET', true, false, 'get'],
    ['HEAD', true, false, 'get'],
    ['GET', false, false, 'list'],
    ['GET', false, true, 'watch'],
    ['post', true, false, 'create'],
    ['PUT', true, false, 'update'],
    ['PATCH', true, false, 'patch'],
    ['DELETE', true, false, 'delete'],
    ['DELETE', false, false, 'deletecollection'],
    ['OPTIONS', true, false, undefined],
  ] as const)('%s (named %s, watch %s) is %s', (m, named, watching, want) => expect(resourceVerb(m, named, watching)).toBe(want));
});
