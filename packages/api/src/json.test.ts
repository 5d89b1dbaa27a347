import { describe, expect, it } from 'vitest';
import { asArray, at, jsonText, objectField, objectsOf } from './json.js';

describe('JSON accessors', () => {
  it.each([
    ['abc', 'abc'],
    [80, '80'],
    [true, 'true'],
    [null, 'null'],
    [undefined, 'undefined'],
    [{ a: 1 }, '{"a":1}'],
    [['x', 2], '["x",2]'],
  ])('renders %j as %s, never [object Object]', (v, want) => expect(jsonText(v)).toBe(want));

  it('walks objects only: a step into a string, a list or null is a miss', () => {
    const o = { spec: { template: { metadata: { labels: { a: 'b' } } }, ports: [{ port: 1 }], name: 'x', none: null } };
    expect(at(o, 'spec', 'template', 'metadata', 'labels')).toEqual({ a: 'b' });
    expect(at(o, 'spec', 'name', 'length')).toBeUndefined();
    expect(at(o, 'spec', 'ports', '0')).toBeUndefined();
    expect(at(o, 'spec', 'none', 'x')).toBeUndefined();
  });

  it('keeps the objects of a list and nothing of a non-list', () => {
    expect(objectsOf([{ a: 1 }, 'x', null, [1], { b: 2 }])).toEqual([{ a: 1 }, { b: 2 }]);
    expect(objectsOf({ 0: { a: 1 } })).toEqual([]);
    expect(asArray('abc')).toEqual([]);
  });

  it('allocates an absent or null object field, and leaves any other value alone', () => {
    const o: Record<string, unknown> = { absent: undefined, nil: null, str: 'x', obj: { k: 1 } };
    expect(objectField(o, 'absent')).toEqual({});
    expect(objectField(o, 'nil')).toEqual({});
    expect(objectField(o, 'str')).toBeUndefined();
    expect(o.str).toBe('x');
    expect(objectField(o, 'obj')).toBe(o.obj);
  });
});
