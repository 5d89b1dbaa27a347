import { describe, expect, it } from 'vitest';
import { fromLabelSelector, matches, parseSelector, selectorString } from './labels.js';
import { StatusError } from './errors.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'fe', n: '5' };
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app=db', false],
    ['missing!=x', true],
    ['tier in (fe,be)', true],
    ['tier notin (fe,be)', false],
    ['tier notin (x)', true],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app=web,tier=fe', true],
    ['app=web,tier=be', false],
    ['n>4', true],
    ['n<4', false],
    ['example.com/key', false],
  ])('%s → %s', (sel, want) => {
    expect(matches(parseSelector(sel), labels)).toBe(want);
  });

  it.each(['app=', 'a b', 'app in (x', '=x', 'app=bad value', 'Bad_Key!=x/y/z', 'n>x'])('rejects %s with a 400', (sel) => {
    if (sel === 'app=') {
      // An empty value is a valid label value.
      expect(parseSelector(sel)).toEqual([{ key: 'app', op: '=', values: [''] }]);
      return;
    }
    expect(() => parseSelector(sel)).toThrow(StatusError);
    try {
      parseSelector(sel);
    } catch (e) {
      expect((e as StatusError).code).toBe(400);
    }
  });

  it('converts metav1.LabelSelector and prints it as kubectl does', () => {
    const sel = fromLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['fe', 'be'] },
        { key: 'x', operator: 'DoesNotExist' },
      ],
    });
    expect(selectorString(sel)).toBe('app=web,tier in (fe,be),!x');
    expect(matches(sel, { app: 'web', tier: 'be' })).toBe(true);
    expect(matches(sel, { app: 'web', tier: 'be', x: '1' })).toBe(false);
  });
});
